/**
 * Live followers of the event log (the SSE streams, MCP subscriptions): one listener on the log fans each
 * event out to every follower, their number is bounded, and shutdown ends them all. A follower is whatever
 * can take an event, a keep-alive and an end; the transport is the caller's.
 */
import type { EventLog } from './events.js'
import type { ChangeEvent } from './model.js'

export interface Follower {
  push: (event: ChangeEvent) => void
  /** A keep-alive, so proxies and clients can tell a quiet follower from a dead connection. */
  ping: () => void
  end: () => void
}

export class Followers<F extends Follower = Follower> {
  readonly #open = new Set<F>()
  readonly #max: number
  #ended = false

  constructor (events: EventLog, max: number) {
    this.#max = max
    // The EventLog emits synchronously, so a follower added in the same tick as its replay cursor is set sees every later event.
    events.on('event', (event) => { for (const f of this.#open) f.push(event) })
  }

  get size (): number { return this.#open.size }
  get max (): number { return this.#max }
  /** True once shutdown began: a new follower would never be ended. */
  get ended (): boolean { return this.#ended }

  /** False, and nothing added, when the bound is reached or shutdown began. */
  add (follower: F): boolean {
    if (this.#ended || this.#open.size >= this.#max) return false
    this.#open.add(follower)
    return true
  }

  delete (follower: F): void {
    this.#open.delete(follower)
  }

  ping (): void {
    for (const f of this.#open) f.ping()
  }

  /** Ends every follower and refuses new ones: they never end by themselves, and shutdown must not wait for them. */
  endAll (): void {
    this.#ended = true
    for (const f of this.#open) f.end()
    this.#open.clear()
  }
}
