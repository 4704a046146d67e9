/** The event log: every change is recorded in the store (group `event`) in the same commit as the change itself. */
import { EventEmitter } from 'node:events'
import { seqKey } from '../core/keys.js'
import { EventRing } from './event-ring.js'
import type { Writer } from '../core/writer.js'
import type { ChangeEvent, EventDataByType, RecordedType } from './model.js'

export const EVENT_GROUP = 'event'

/** Event keys order like their ids. */
export const eventKey = seqKey

// How many recent events stay in memory for replay; a client further behind replays from the store.
const RECENT_EVENTS = 1000

export class EventLog extends EventEmitter<{ event: [ChangeEvent] }> {
  #lastId = 0
  readonly #writer: Writer
  /** The newest events, including those whose commit is still in flight. */
  readonly recent = new EventRing(RECENT_EVENTS)

  constructor (writer: Writer) {
    super()
    this.#writer = writer
  }

  get lastId (): number { return this.#lastId }

  /** Continues numbering after the highest id found in the store; those stored events are not in `recent`. */
  resume (lastId: number): void {
    this.#lastId = Math.max(this.#lastId, lastId)
    this.recent.exclude(lastId)
  }

  /** Stages the event with the caller's other entries; it is durable when the caller's commit is. */
  record<T extends RecordedType> (type: T, subject: string, data: EventDataByType[T], at: string): ChangeEvent {
    // Ids never go below microseconds since the epoch, so events recorded while the store could not be
    // read (degraded start) never reuse an id already stored, and ids keep growing across restarts.
    this.#lastId = Math.max(this.#lastId + 1, Date.now() * 1000)
    // TypeScript cannot tie `data` to `type` through a generic; the signature above does.
    const event = { id: this.#lastId, type, subject, at, data } as ChangeEvent
    this.#writer.stage(EVENT_GROUP, eventKey(event.id), JSON.stringify(event), at)
    this.recent.push(event)
    this.emit('event', event)
    return event
  }
}
