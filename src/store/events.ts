/** The event log: every change is recorded in the store (group `event`) in the same commit as the change itself. */
import { EventEmitter } from 'node:events'
import type { Writer } from './writer.js'

export interface ChangeEvent {
  /** Only grows, across restarts. */
  id: number
  type: string
  subject: string
  at: string
  data: unknown
}

export const EVENT_GROUP = 'event'

/** Event keys are zero-padded so the store orders them like their ids. */
export const eventKey = (id: number): string => String(id).padStart(16, '0')

export class EventLog extends EventEmitter {
  #lastId = 0
  readonly #writer: Writer

  constructor (writer: Writer) {
    super()
    this.#writer = writer
  }

  get lastId (): number { return this.#lastId }

  /** Continues numbering after the highest id found in the store. */
  resume (lastId: number): void {
    this.#lastId = Math.max(this.#lastId, lastId)
  }

  /** Stages the event with the caller's other entries; it is durable when the caller's commit is. */
  record (type: string, subject: string, data: unknown, at: string): ChangeEvent {
    // Ids never go below microseconds since the epoch, so events recorded while the store could not be
    // read (degraded start) never reuse an id already stored, and ids keep growing across restarts.
    this.#lastId = Math.max(this.#lastId + 1, Date.now() * 1000)
    const event: ChangeEvent = { id: this.#lastId, type, subject, at, data }
    this.#writer.stage(EVENT_GROUP, eventKey(event.id), JSON.stringify(event), at)
    this.emit('event', event)
    return event
  }
}
