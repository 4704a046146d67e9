/**
 * Admin actions: each asks for confirmation in a modal dialog (with fields when the action takes any), then
 * says what came of it in a toast: one line, dismissible, gone when the reader moves to another page. Offered
 * only to an admin token; the page learns the scope from /v1/whoami.
 */
import { createContext, type ComponentChildren } from 'preact'
import { useContext, useEffect, useRef, useState } from 'preact/hooks'
import { send, type Answer } from './api.js'
import { useHash } from './hooks.js'
import type { Problem } from './types.js'

export interface Field {
  name: string
  label: string
  type: 'text' | 'number'
  value: string
}

export interface Action {
  title: string
  /** What will happen, in a sentence. */
  detail: string
  fields?: Field[]
  method: string
  path: string
  /** The request body, from the fields' values. */
  body?: (values: Record<string, string>) => unknown
  /** What happened, once the service said yes: a sentence, or one made from its answer. */
  done: string | ((answer: unknown) => string)
}

interface Actions {
  admin: boolean
  ask: (a: Action) => void
}

const ActionsContext = createContext<Actions>({ admin: false, ask: () => {} })

/** A button for an action; nothing at all for a token that may not take it. */
export function ActionButton ({ action, label, danger }: { action: Action, label: string, danger?: boolean }) {
  const { admin, ask } = useContext(ActionsContext)
  if (!admin) return null
  return <button type='button' class={danger === true ? 'action danger' : 'action'} onClick={() => ask(action)}>{label}</button>
}

interface Outcome {
  ok: boolean
  /** What happened, or why not, in a sentence. */
  text: string
  /** The request and the status, for whoever wants the detail. */
  request: string
  status: number
}

function outcomeOf (action: Action, answer: Answer): Outcome {
  const { request, status, body } = answer
  const ok = status >= 200 && status < 300
  if (ok) return { ok, request, status, text: typeof action.done === 'string' ? action.done : action.done(body) }
  if (status === 0) return { ok, request, status, text: String(body) }
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Partial<Problem>
  return { ok, request, status, text: `Refused: ${problem.detail ?? `HTTP ${status}`}${problem.code === undefined ? '' : ` (${problem.code})`}` }
}

function Toast ({ outcome, onDismiss }: { outcome: Outcome, onDismiss: () => void }) {
  return (
    <div class={`toast ${outcome.ok ? 'ok' : 'failed'}`} data-status={outcome.status}>
      <p class='toast-text'>{outcome.text}</p>
      <p class='toast-request muted'><code>{outcome.request}</code> → {outcome.status === 0 ? 'no answer' : `HTTP ${outcome.status}`}</p>
      <button type='button' class='dismiss' aria-label='Dismiss' title='Dismiss' onClick={onDismiss}>×</button>
    </div>
  )
}

export function ActionsProvider ({ admin, children }: { admin: boolean, children: ComponentChildren }) {
  const [pending, setPending] = useState<Action | null>(null)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const dialog = useRef<HTMLDialogElement>(null)
  const hash = useHash()

  // A toast belongs to the page where the action was taken.
  useEffect(() => setOutcome(null), [hash])

  useEffect(() => {
    const d = dialog.current
    if (d === null) return
    if (pending !== null && !d.open) d.showModal()
    if (pending === null && d.open) d.close()
  }, [pending])

  const confirm = async (e: Event) => {
    e.preventDefault()
    if (pending === null) return
    const form = new FormData(e.currentTarget as HTMLFormElement)
    const values = Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v)]))
    const a = pending
    const page = location.hash
    setPending(null)
    const answer = await send(a.method, a.path, a.body?.(values))
    // Left for another page meanwhile: the answer is not news there.
    if (location.hash === page) setOutcome(outcomeOf(a, answer))
  }

  return (
    <ActionsContext.Provider value={{ admin, ask: setPending }}>
      {children}
      {/* The live region is always there, so a screen reader announces the toast that appears in it. */}
      <div class='toasts' role='status' aria-live='polite'>
        {outcome !== null && <Toast outcome={outcome} onDismiss={() => setOutcome(null)} />}
      </div>
      <dialog ref={dialog} aria-labelledby='confirm-title' onClose={() => setPending(null)}>
        {pending !== null && (
          <form method='dialog' onSubmit={confirm}>
            <h2 id='confirm-title'>{pending.title}</h2>
            <p>{pending.detail}</p>
            {pending.fields?.map((f) => (
              <label key={f.name}>{f.label}
                {f.type === 'number'
                  ? <input name={f.name} type='number' defaultValue={f.value} required min={1} />
                  : <input name={f.name} type='text' defaultValue={f.value} required />}
              </label>
            ))}
            <div class='buttons'>
              <button type='button' onClick={() => setPending(null)}>Cancel</button>
              <button type='submit' class='action danger' autofocus>Confirm</button>
            </div>
          </form>
        )}
      </dialog>
    </ActionsContext.Provider>
  )
}
