/**
 * Delivers the sync queue to SYNC_URL (API §6), strictly head of line, one POST at a time. The item id
 * is the Idempotency-Key, so when an item is sent again (its answer was lost, or the process died before
 * the outcome was stored) upstream can drop the repeat. Network errors, timeouts, 5xx, 408 and 429 are
 * retried with backoff; any other non-2xx answer, or the last allowed attempt, makes a dead letter.
 */
import type { Logger } from '../core/logger.js'
import type { SyncItem } from './model.js'
import type { SyncQueue } from './sync-queue.js'

export interface FlusherOptions {
  url: string
  token: string | undefined
  maxAttempts: number
  timeoutMs: number
  /** The delay after the first failed attempt; each later one doubles, up to 30 times it. 1000 in production; tests shrink it. */
  backoffBaseMs: number
  queue: SyncQueue
  clock: () => Date
  log: Logger
}

/** The delay after the n-th failed attempt: `min(base · 2^(n−1), 30 · base)`, i.e. 1, 2, 4, 8, 16, 30, 30 … s. */
export function backoffMs (attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** (attempts - 1), 30 * baseMs)
}

// A longer Retry-After is capped so one answer cannot park the queue for days; POST /v1/sync/flush skips any wait.
const MAX_RETRY_AFTER_MS = 3600 * 1000
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/

/** A Retry-After header (seconds, or an HTTP-date) as a wait in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs (header: string | null, now: number): number | undefined {
  const v = header?.trim() ?? ''
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : HTTP_DATE.test(v) ? Date.parse(v) - now : undefined
  return ms === undefined ? undefined : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS)
}

const retryable = (status: number): boolean => status >= 500 || status === 408 || status === 429

// setTimeout's ceiling; a longer wait ends early and is then re-evaluated.
const MAX_TIMER_MS = 2 ** 31 - 1

interface Answer {
  /** null when upstream took the item. */
  error: string | null
  retry: boolean
  retryAfterMs?: number
}

export class SyncFlusher {
  readonly #o: FlusherOptions
  readonly #stop = new AbortController()
  #wake: (() => void) | null = null
  #forced = false
  #loop: Promise<void> | null = null

  constructor (options: FlusherOptions) {
    this.#o = options
    options.queue.on('changed', () => this.#wake?.())
  }

  start (): void {
    this.#loop ??= this.#run()
  }

  /** Tries the head now, whatever its backoff says. */
  flush (): void {
    this.#forced = true
    this.#wake?.()
  }

  /** Stops the loop. A delivery in flight is abandoned: its item stays at the head and is sent again, under the same id, after the next start. */
  async stop (): Promise<void> {
    this.#stop.abort()
    this.#wake?.()
    await this.#loop
  }

  async #run (): Promise<void> {
    let due = false
    while (!this.#stop.signal.aborted) {
      try {
        const head = this.#o.queue.head()
        const wait = head?.next_attempt_at == null ? 0 : Date.parse(head.next_attempt_at) - this.#o.clock().getTime()
        if (head === undefined) {
          await this.#sleep(undefined)
        } else if (wait > 0 && !due && !this.#forced) {
          due = !(await this.#sleep(wait))
        } else {
          due = false
          this.#forced = false
          await this.#attempt(head)
        }
      } catch (err) {
        // Nothing here is expected to throw; if something does, the loop must outlive it rather than stall the queue.
        this.#o.log.error({ err }, 'sync flusher: unexpected error')
        await this.#sleep(this.#o.backoffBaseMs)
      }
    }
  }

  async #attempt (item: SyncItem): Promise<void> {
    const { queue, clock, maxAttempts, backoffBaseMs, log } = this.#o
    const answer = await this.#post(item)
    if (answer === undefined) return
    if (answer.error === null) {
      await queue.delivered(item.id)
      return
    }
    const attempts = item.attempts + 1
    const delay = Math.max(backoffMs(attempts, backoffBaseMs), answer.retryAfterMs ?? 0)
    const retryAt = answer.retry && attempts < maxAttempts ? new Date(clock().getTime() + delay).toISOString() : null
    log.warn({ id: item.id, attempts, error: answer.error, retry_at: retryAt }, retryAt === null ? 'sync push failed: dead letter' : 'sync push failed: will retry')
    await queue.failed(item.id, answer.error, retryAt)
  }

  /** One delivery, bounded by the timeout; undefined when stop() cut it short. */
  async #post (item: SyncItem): Promise<Answer | undefined> {
    const { url, token, timeoutMs, clock } = this.#o
    const timeout = AbortSignal.timeout(timeoutMs)
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': item.id,
          ...(token ? { authorization: `Bearer ${token}` } : {})
        },
        body: JSON.stringify({ agent_id: item.agent_id, dispatches: item.dispatches }),
        // A redirect is an answer like any other 3xx (a dead letter), not something to follow with the token.
        redirect: 'manual',
        signal: AbortSignal.any([timeout, this.#stop.signal])
      })
      // Reading the body (bounded by the same signal) also frees the connection for the next push.
      const text = (await res.text()).replace(/\s+/g, ' ').trim().slice(0, 200)
      if (res.ok) return { error: null, retry: false }
      return {
        error: `HTTP ${res.status}${text === '' ? '' : ': ' + text}`,
        retry: retryable(res.status),
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), clock().getTime())
      }
    } catch (err) {
      if (this.#stop.signal.aborted) return undefined
      if (timeout.aborted) return { error: `timeout after ${timeoutMs} ms`, retry: true }
      // fetch's own message is a bare "fetch failed"; the cause says what happened (refused, reset, DNS …).
      const cause = (err as { cause?: { message?: string } }).cause
      return { error: `network error: ${cause?.message ?? (err as Error).message}`, retry: true }
    }
  }

  /** Waits `ms` (or until woken, when undefined); resolves true when woken early. */
  #sleep (ms: number | undefined): Promise<boolean> {
    if (this.#stop.signal.aborted) return Promise.resolve(true)
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (woken: boolean): void => {
        clearTimeout(timer)
        this.#wake = null
        resolve(woken)
      }
      this.#wake = () => done(true)
      if (ms !== undefined) timer = setTimeout(() => done(false), Math.min(ms, MAX_TIMER_MS))
    })
  }
}
