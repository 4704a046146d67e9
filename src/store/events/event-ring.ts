/** The most recent events in memory, so a client that reconnects after a short gap replays without touching the store. */
import { firstNotBefore } from '../core/search.js'
import type { ChangeEvent } from './model.js'

export class EventRing {
  readonly #capacity: number
  // Oldest first. At this size shift() is a small memmove, cheaper than the bookkeeping of a circular buffer.
  readonly #items: ChangeEvent[] = []
  #coversAfter = 0

  constructor (capacity: number) {
    this.#capacity = capacity
  }

  /** Every event with an id above this one is in the ring; older ones may only be in the store. */
  get coversAfter (): number { return this.#coversAfter }

  push (event: ChangeEvent): void {
    this.#items.push(event)
    if (this.#items.length > this.#capacity) this.#coversAfter = (this.#items.shift() as ChangeEvent).id
  }

  /** Events up to `id` were recorded outside this ring (an earlier process, or a store that opened late). */
  exclude (id: number): void {
    this.#coversAfter = Math.max(this.#coversAfter, id)
  }

  /** The events held with an id above `id`, oldest first. */
  after (id: number): ChangeEvent[] {
    // Ids grow with every record, so the ring is sorted.
    const lo = firstNotBefore(this.#items, (e) => e.id <= id)
    return this.#items.slice(lo)
  }
}
