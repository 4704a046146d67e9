/**
 * Follows `GET /v1/events`. EventSource cannot send an Authorization header, so the stream is read with fetch
 * and parsed by eventsource-parser. After a drop (a restart of the service) it reconnects with `Last-Event-ID`,
 * so the service replays what happened meanwhile and nothing is missed.
 *
 * Quietly: the browser itself logs every request that fails (no page can stop it), so while the service is
 * away the page asks less and less often (see retryDelay), reads nothing else, and logs one line of its own
 * when it loses the service and one when it has it back.
 */
import { createParser } from 'eventsource-parser'
import { authHeaders, getJson } from './api.js'
import type { ChangeEvent, EventPage } from './types.js'

export type LinkState = 'connecting' | 'live' | 'down'

const RETRY_FIRST_MS = 1000
const RETRY_MAX_MS = 15_000

/** How long to wait before the next try after `failures` failed ones in a row: 1 s, 2 s, 4 s, 8 s, then 15 s. */
export const retryDelay = (failures: number): number => Math.min(RETRY_FIRST_MS * 2 ** failures, RETRY_MAX_MS)

export class LiveFeed {
  state: LinkState = 'connecting'
  /** Grows with every event and every (re)connection, never while the service is away: pages read again when it moves. */
  version = 0
  lastId: string | null = null
  /** While down: when the next try is due (ms since the epoch). */
  retryAt = 0
  readonly #events = new Set<(e: ChangeEvent) => void>()
  readonly #changes = new Set<() => void>()
  #abort: AbortController | null = null
  #stopped = false
  #wake: (() => void) | null = null
  /** Tries in a row that found no service, and since when it has been away (null while it answers). */
  #failures = 0
  #lostAt: number | null = null
  readonly #retryNow = () => this.retryNow()
  readonly #onVisible = () => { if (document.visibilityState === 'visible') this.retryNow() }

  onEvent (fn: (e: ChangeEvent) => void): () => void {
    this.#events.add(fn)
    return () => this.#events.delete(fn)
  }

  /** Called on every event and state change. */
  onChange (fn: () => void): () => void {
    this.#changes.add(fn)
    return () => this.#changes.delete(fn)
  }

  start (): void {
    // Someone is looking, or the network is back: no reason to wait out the back-off.
    addEventListener('online', this.#retryNow)
    document.addEventListener('visibilitychange', this.#onVisible)
    void this.#run()
  }

  stop (): void {
    this.#stopped = true
    removeEventListener('online', this.#retryNow)
    document.removeEventListener('visibilitychange', this.#onVisible)
    this.#abort?.abort()
    this.retryNow()
  }

  /** Ends the wait before the next try, if the feed is waiting. */
  retryNow (): void {
    this.#wake?.()
  }

  #notify (): void {
    for (const fn of this.#changes) fn()
  }

  #setState (state: LinkState): void {
    // Reconnected: everything may have changed meanwhile, so pages read again. Gone: their reads would only fail.
    if (state === 'live' && this.state !== 'live') this.version++
    this.state = state
    this.#notify()
  }

  /**
   * The newest stored event, where the stream starts: without it, events between this page's reads and its first
   * connection (or a drop before any event came) would never be replayed. Undefined if the service is not answering;
   * null if the log cannot be read (the store is degraded): then the stream starts from now.
   */
  async #newestId (): Promise<string | null | undefined> {
    try {
      const page = await getJson<EventPage>('/v1/events/log?limit=1')
      return String(page.items[0]?.id ?? 0)
    } catch (err) {
      return err instanceof TypeError ? undefined : null
    }
  }

  /** One connection: true if the stream was open (the service answered), false if the try failed. */
  async #follow (): Promise<boolean> {
    if (this.lastId === null) {
      const newest = await this.#newestId()
      if (newest === undefined) return false
      this.lastId = newest
    }
    this.#abort = new AbortController()
    let opened = false
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() }
      if (this.lastId !== null) headers['last-event-id'] = this.lastId
      const res = await fetch('/v1/events', { headers, signal: this.#abort.signal, cache: 'no-store' })
      if (!res.ok || res.body === null) return false
      opened = true
      this.#failures = 0
      if (this.#lostAt !== null) console.info(`agent-state: the service is back after ${Math.round((Date.now() - this.#lostAt) / 1000)} s`)
      this.#lostAt = null
      this.#setState('live')
      await this.#read(res.body)
    } catch {}
    return opened
  }

  async #run (): Promise<void> {
    while (!this.#stopped) {
      const opened = await this.#follow()
      if (this.#stopped) return
      // A stream that ends is tried again after a second, quietly; a try that fails is the service gone.
      if (!opened && this.#failures++ === 0) {
        this.#lostAt = Date.now()
        console.warn(`agent-state: cannot reach the service; trying again in ${retryDelay(1) / 1000} s, then less often (at least every ${RETRY_MAX_MS / 1000} s)`)
      }
      const wait = retryDelay(this.#failures)
      this.retryAt = Date.now() + wait
      this.#setState('down')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait)
        this.#wake = () => { clearTimeout(timer); resolve() }
      })
      this.#wake = null
    }
  }

  async #read (body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = createParser({
      onEvent: (message) => {
        if (message.id !== undefined) this.lastId = message.id
        let event: ChangeEvent
        try { event = JSON.parse(message.data) as ChangeEvent } catch { return }
        for (const fn of this.#events) fn(event)
        this.version++
        this.#notify()
      }
    })
    const reader = body.getReader()
    const decoder = new TextDecoder()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      parser.feed(decoder.decode(value, { stream: true }))
    }
  }
}
