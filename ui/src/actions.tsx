/**
 * Admin actions: each asks for confirmation in a modal dialog (with fields when the action takes any), then
 * shows what the server answered. Offered only to an admin token; the page learns the scope from /v1/whoami.
 */
import { createContext, type ComponentChildren } from 'preact'
import { useContext, useEffect, useRef, useState } from 'preact/hooks'
import { send, type Answer } from './api.js'

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

export function ActionsProvider ({ admin, children }: { admin: boolean, children: ComponentChildren }) {
  const [pending, setPending] = useState<Action | null>(null)
  const [answer, setAnswer] = useState<Answer | null>(null)
  const dialog = useRef<HTMLDialogElement>(null)

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
    setPending(null)
    setAnswer(await send(a.method, a.path, a.body?.(values)))
  }

  return (
    <ActionsContext.Provider value={{ admin, ask: setPending }}>
      {answer !== null && (
        <div class={`answer ${answer.status >= 200 && answer.status < 300 ? 'ok' : 'failed'}`} role='status' aria-live='polite'>
          <div class='answer-head'>
            <strong>{answer.request}</strong> → <span class='answer-status'>{answer.status === 0 ? 'no answer' : `HTTP ${answer.status}`}</span>
            <button type='button' class='link' onClick={() => setAnswer(null)}>dismiss</button>
          </div>
          <pre>{typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2)}</pre>
        </div>
      )}
      {children}
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
