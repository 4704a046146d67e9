/**
 * Follows `GET /v1/events`. EventSource cannot send an Authorization header, so the stream is read with fetch
 * and parsed by eventsource-parser. After a drop (a restart of the service) it reconnects every second with
 * `Last-Event-ID`, so the service replays what happened meanwhile and nothing is missed.
 */
import { createParser } from 'eventsource-parser'
import { authHeaders, getJson } from './api.js'

export interface ChangeEvent {
  id: number
  type: string
  subject: string
  at: string
  data: Record<string, unknown> | null
}

export type LinkState = 'connecting' | 'live' | 'down'

const RETRY_MS = 1000

export class LiveFeed {
  state: LinkState = 'connecting'
  /** Grows with every event and every (re)connection: pages read again when it moves. */
  version = 0
  lastId: string | null = null
  readonly #events = new Set<(e: ChangeEvent) => void>()
  readonly #changes = new Set<() => void>()
  #abort: AbortController | null = null
  #stopped = false

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
    void this.#run()
  }

  stop (): void {
    this.#stopped = true
    this.#abort?.abort()
  }

  #changed (): void {
    this.version++
    for (const fn of this.#changes) fn()
  }

  #setState (state: LinkState): void {
    if (this.state === state) return
    this.state = state
    this.#changed()
  }

  /**
   * The newest stored event, where the stream starts: without it, events between this page's reads and its first
   * connection (or a drop before any event came) would never be replayed. Null if the log cannot be read.
   */
  async #newestId (): Promise<string | null> {
    try {
      const page = await getJson<{ items: ChangeEvent[] }>('/v1/events/log?limit=1')
      return String(page.items[0]?.id ?? 0)
    } catch {
      return null
    }
  }

  async #run (): Promise<void> {
    while (!this.#stopped) {
      this.lastId ??= await this.#newestId()
      this.#abort = new AbortController()
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() }
        if (this.lastId !== null) headers['last-event-id'] = this.lastId
        const res = await fetch('/v1/events', { headers, signal: this.#abort.signal, cache: 'no-store' })
        if (res.ok && res.body !== null) {
          this.#setState('live')
          await this.#read(res.body)
        }
      } catch {}
      if (this.#stopped) return
      this.#setState('down')
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    }
  }

  async #read (body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = createParser({
      onEvent: (message) => {
        if (message.id !== undefined) this.lastId = message.id
        let event: ChangeEvent
        try { event = JSON.parse(message.data) as ChangeEvent } catch { return }
        for (const fn of this.#events) fn(event)
        this.#changed()
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
