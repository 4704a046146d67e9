/** One client of `GET /v1/events`: replay after its last event id (memory, else the store), then live events through a bounded queue. */
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../store/core/database.js'
import { readEventsAfter } from '../store/events/event-store.js'
import type { EventLog } from '../store/events/events.js'
import type { ChangeEvent, EventType } from '../store/events/model.js'

// Store replay reads this many events per statement, so a client far behind never holds the log in memory.
const REPLAY_PAGE = 500

// Each event's SSE frame, made once and shared by every client: a hundred streams cost one serialisation, not a hundred.
const frames = new WeakMap<ChangeEvent, string>()

/** The event as one SSE message; the JSON holds no newline, so it is a single `data:` line. */
function frameOf (event: ChangeEvent): string {
  let frame = frames.get(event)
  if (frame === undefined) {
    frame = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`
    frames.set(event, frame)
  }
  return frame
}

export interface EventStreamOptions {
  raw: ServerResponse
  events: EventLog
  /** The store once it holds every acknowledged event; null while unavailable: replay then comes from memory only. */
  store: () => Promise<Database | null>
  /** The types the client asked for; null for all. */
  types: ReadonlySet<EventType> | null
  /** Live events the client may fall behind by before it is cut off. */
  queueMax: number
  log: FastifyBaseLogger
}

export class EventStream {
  readonly #o: EventStreamOptions
  // Live events waiting for the socket. Every client shares the same event objects, so this costs a pointer each.
  #queue: ChangeEvent[] = []
  // The last event id handled (sent or filtered out). Replay and the live queue overlap; this drops the repeats.
  #cursor = 0
  #replaying = true
  #writing = false
  #closed = false
  // Settles when the stream stops, so a write waiting for a drain that will never come does not hang its caller.
  readonly #stopped: Promise<void>
  #settle: () => void = () => {}

  constructor (o: EventStreamOptions) {
    this.#o = o
    this.#stopped = new Promise((resolve) => { this.#settle = resolve })
    o.raw.on('close', () => this.#stop())
  }

  /**
   * Replays what came after `after` (nothing when undefined), then streams live events. The caller must
   * make the stream receive live events (push) in the same tick as it calls this: ids above the cursor
   * set here then arrive either by replay or by push, never neither.
   */
  async start (after: number | undefined): Promise<void> {
    this.#cursor = after ?? this.#o.events.lastId
    try {
      if (after !== undefined) await this.#replay()
      this.#replaying = false
      await this.#pump()
    } catch (err) {
      this.#fail(err)
    }
  }

  /** A live event; one the client does not want is dropped here so it never counts against the queue. */
  push (event: ChangeEvent): void {
    if (this.#closed || !this.#wants(event)) return
    if (this.#queue.length >= this.#o.queueMax) return this.#cutOff()
    this.#queue.push(event)
    if (!this.#replaying) this.#pump().catch((err: unknown) => this.#fail(err))
  }

  /** A keep-alive comment; skipped while the socket is backed up, so it never adds to what a slow client holds. */
  ping (): void {
    if (this.#closed || this.#o.raw.writableNeedDrain) return
    this.#o.raw.write(': keep-alive\n\n')
  }

  /** Ends the stream on shutdown; a client that is backed up is cut off rather than waited for. */
  end (): void {
    if (this.#closed) return
    const stuck = this.#o.raw.writableNeedDrain
    this.#stop()
    if (stuck) this.#o.raw.destroy()
    else this.#o.raw.end()
  }

  async #replay (): Promise<void> {
    const { events } = this.#o
    // Memory holds every event above `coversAfter`; older ones come from the store, a page at a time.
    const db = this.#cursor < events.recent.coversAfter ? await this.#o.store() : null
    if (db !== null) {
      while (this.#cursor < events.recent.coversAfter && !this.#closed) {
        const page = await readEventsAfter(db, this.#cursor, REPLAY_PAGE)
        for (const e of page) await this.#send(e)
        if (page.length < REPLAY_PAGE) break
      }
    }
    for (const e of events.recent.after(this.#cursor)) await this.#send(e)
  }

  async #pump (): Promise<void> {
    if (this.#writing) return
    this.#writing = true
    try {
      for (let e = this.#queue.shift(); e !== undefined && !this.#closed; e = this.#queue.shift()) await this.#send(e)
    } finally {
      this.#writing = false
    }
  }

  async #send (event: ChangeEvent): Promise<void> {
    if (this.#closed || event.id <= this.#cursor) return
    this.#cursor = event.id
    if (!this.#wants(event)) return
    // At most one frame waits in userland past the socket's buffer: the next waits for 'drain', and that
    // wait is what lets the queue show a slow client (and cut it off at `queueMax`).
    if (this.#o.raw.write(frameOf(event))) return
    await Promise.race([once(this.#o.raw, 'drain'), this.#stopped])
  }

  #wants (event: ChangeEvent): boolean {
    return this.#o.types === null || this.#o.types.has(event.type)
  }

  #cutOff (): void {
    this.#o.log.warn({ queued: this.#queue.length, last_event_id: this.#cursor }, 'event stream client too slow: disconnected; it can reconnect with Last-Event-ID')
    this.#stop()
    this.#o.raw.destroy()
  }

  #fail (err: unknown): void {
    // Writes fail once the client has gone; that is an ordinary end, not an error.
    if (this.#closed) return
    this.#o.log.error({ err }, 'event stream failed: disconnected; the client can reconnect with Last-Event-ID')
    this.#stop()
    this.#o.raw.destroy()
  }

  #stop (): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue = []
    this.#settle()
  }
}
