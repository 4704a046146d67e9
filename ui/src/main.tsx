/** The dashboard's shell: asks for a token when the service needs one, follows the event stream, routes by the URL hash. */
import { render } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { ActionsProvider } from './actions.js'
import { ApiError, getJson, tokenStore } from './api.js'
import { LiveContext, useHash, useLinkState, useNow } from './hooks.js'
import { LiveFeed, retryDelay } from './live.js'
import { Events } from './pages/events.js'
import { Journal } from './pages/journal.js'
import { Overview } from './pages/overview.js'
import { Queue } from './pages/queue.js'
import { Sync } from './pages/sync.js'
import { WorkspaceDetail, Workspaces } from './pages/workspaces.js'
import type { Whoami } from './types.js'

/**
 * Whether the service wants a token, as the page it served says (`open` or `token`; empty if something else
 * served it). Without a token to send, asking /v1/whoami would only fetch a 401, which the browser logs.
 */
const AUTH = document.querySelector<HTMLMetaElement>('meta[name="agent-state-auth"]')?.content ?? ''

const PAGES = [
  ['', 'Overview'],
  ['workspaces', 'Workspaces'],
  ['queue', 'Queue'],
  ['events', 'Events'],
  ['sync', 'Sync'],
  ['journal', 'Journal']
] as const

function Page ({ hash }: { hash: string }) {
  // `#/name/rest?query`
  const [path = '', hashQuery = ''] = hash.replace(/^#\/?/, '').split('?')
  const [page = '', ...rest] = path.split('/')
  switch (page) {
    case 'workspaces': return <Workspaces hashQuery={hashQuery} />
    case 'workspace': return <WorkspaceDetail name={rest.map(decodeURIComponent).join('/')} />
    case 'queue': return <Queue />
    case 'events': return <Events />
    case 'sync': return <Sync />
    case 'journal': return <Journal hashQuery={hashQuery} />
    default: return <Overview />
  }
}

function NextTry ({ at }: { at: number }) {
  const now = useNow()
  const left = Math.ceil((at - now) / 1000)
  return <>{left > 0 ? ` next try in ${left} s` : ' trying…'}</>
}

function LinkState () {
  const live = useLinkState()
  const text = { live: 'live', connecting: 'connecting…', down: 'reconnecting…' }[live.state]
  return (
    <span class='link-state-box'>
      <span class={`link-state ${live.state}`} role='status' aria-live='polite' data-state={live.state}>{text}</span>
      {live.state === 'down' && (
        <>
          <span class='muted next-try'><NextTry at={live.retryAt} /></span>
          <button type='button' class='link' onClick={() => live.retryNow()}>retry now</button>
        </>
      )}
    </span>
  )
}

function Shell ({ who, onSignOut }: { who: Whoami, onSignOut: () => void }) {
  const hash = useHash()
  const live = useMemo(() => new LiveFeed(), [])
  useEffect(() => { live.start(); return () => live.stop() }, [live])
  const current = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? ''
  const active = current === 'workspace' ? 'workspaces' : current
  return (
    <LiveContext.Provider value={live}>
      <a class='skip' href='#main'>Skip to content</a>
      <header>
        <h1><a href='#/'>agent-state</a></h1>
        <nav aria-label='Pages'>
          <ul>
            {PAGES.map(([id, label]) => (
              <li key={id}><a href={`#/${id}`} aria-current={active === id ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <div class='who'>
          <LinkState />
          <span class='scope' data-scope={who.scope}>{who.auth === 'open' ? 'open (no tokens)' : `${who.scope} token`}</span>
          {who.auth === 'token' && <button type='button' class='link' onClick={onSignOut}>forget token</button>}
        </div>
      </header>
      <ActionsProvider admin={who.scope === 'admin'}>
        <main id='main' tabIndex={-1}>
          <Page hash={hash} />
        </main>
      </ActionsProvider>
    </LiveContext.Provider>
  )
}

function TokenForm ({ problem, onToken }: { problem: string | null, onToken: (t: string) => void }) {
  const submit = (e: Event) => {
    e.preventDefault()
    const token = String(new FormData(e.currentTarget as HTMLFormElement).get('token') ?? '').trim()
    if (token !== '') onToken(token)
  }
  return (
    <main id='main' class='signin'>
      <h1>agent-state</h1>
      <form onSubmit={submit}>
        <label>Bearer token
          <input name='token' type='password' autocomplete='off' required autofocus />
        </label>
        <p class='muted'>Kept in this tab only (sessionStorage); closing the tab forgets it.</p>
        {problem !== null && <p class='problem' role='alert'>{problem}</p>}
        <button type='submit'>Open the dashboard</button>
      </form>
    </main>
  )
}

function App () {
  const [who, setWho] = useState<Whoami | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [asking, setAsking] = useState(AUTH === 'token' && tokenStore.get() === null)
  // Tries in a row that found no service: the next one waits longer (retryDelay).
  const [failures, setFailures] = useState(0)
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    if (asking) return
    let current = true
    let timer: ReturnType<typeof setTimeout> | undefined
    getJson<Whoami>('/v1/whoami').then((w) => { if (current) { setWho(w); setProblem(null); setFailures(0) } }, (err: Error) => {
      if (!current) return
      if (err instanceof ApiError && err.status === 401) {
        if (tokenStore.get() !== null) setProblem(err.message)
        tokenStore.clear()
        setAsking(true)
      } else {
        // The service is not answering (restarting?): try again, less and less often.
        setProblem(`cannot reach the service (${err.message}); trying again`)
        timer = setTimeout(() => { setFailures((n) => n + 1); setAttempt((n) => n + 1) }, retryDelay(failures))
      }
    })
    return () => { current = false; clearTimeout(timer) }
  }, [attempt, asking])

  if (asking) return <TokenForm problem={problem} onToken={(t) => { tokenStore.set(t); setProblem(null); setAsking(false); setAttempt((n) => n + 1) }} />
  if (who === null) return <main id='main'><p class='muted'>{problem ?? 'Loading…'}</p></main>
  return <Shell who={who} onSignOut={() => { tokenStore.clear(); setWho(null); setAsking(true) }} />
}

const root = document.getElementById('app')
if (root !== null) render(<App />, root)
