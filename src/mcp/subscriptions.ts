/**
 * Resource subscriptions of every MCP session, fed by the event log the SSE route follows: a `workspace` event
 * for a name some session subscribed to sends it `notifications/resources/updated`. One listener serves all
 * sessions; each session holds at most `max` subscriptions.
 */
import { limitReached } from '../store/core/errors.js'
import type { EventLog } from '../store/events/events.js'
import type { ChangeEvent } from '../store/events/model.js'

/** One session's side: what it follows and how it is told. */
export interface Subscriber {
  readonly names: Set<string>
  /** Sends the notification for workspace `name`; a session without a stream open simply misses it. */
  notify: (name: string) => void
}

export class Subscriptions {
  readonly #events: EventLog
  readonly #max: number
  readonly #byName = new Map<string, Set<Subscriber>>()
  /** Names changed since the last delivery: a burst of changes to one workspace is one notification. */
  readonly #changed = new Set<string>()
  #deliveryQueued = false
  readonly #onEvent = (event: ChangeEvent): void => {
    if (event.type !== 'workspace' || !this.#byName.has(event.subject)) return
    this.#changed.add(event.subject)
    if (this.#deliveryQueued) return
    this.#deliveryQueued = true
    // The event is emitted while its change is being applied: a subscriber that reads on the notification
    // must find the change, so it is told once the change is complete.
    setImmediate(() => this.#deliver())
  }

  constructor (events: EventLog, max: number) {
    this.#events = events
    this.#max = max
    events.on('event', this.#onEvent)
  }

  subscriber (notify: (name: string) => void): Subscriber {
    return { names: new Set(), notify }
  }

  /** Follows workspace `name` (tracked yet or not); 429 `limit_reached` beyond MCP_SUBSCRIPTIONS_MAX. */
  add (sub: Subscriber, name: string): void {
    if (sub.names.has(name)) return
    if (sub.names.size >= this.#max) throw limitReached(`this session follows ${this.#max} workspaces already (MCP_SUBSCRIPTIONS_MAX); unsubscribe from one first`)
    sub.names.add(name)
    const subs = this.#byName.get(name) ?? new Set()
    subs.add(sub)
    this.#byName.set(name, subs)
  }

  remove (sub: Subscriber, name: string): void {
    if (!sub.names.delete(name)) return
    const subs = this.#byName.get(name)
    subs?.delete(sub)
    if (subs?.size === 0) this.#byName.delete(name)
  }

  /** Forgets a session's subscriptions (it closed). */
  drop (sub: Subscriber): void {
    for (const name of [...sub.names]) this.remove(sub, name)
  }

  close (): void {
    this.#events.off('event', this.#onEvent)
  }

  #deliver (): void {
    this.#deliveryQueued = false
    for (const name of this.#changed) for (const sub of this.#byName.get(name) ?? []) sub.notify(name)
    this.#changed.clear()
  }
}
