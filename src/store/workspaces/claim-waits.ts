/**
 * Long-poll claims (API §12): a claim allowed to wait is tried again whenever something that decides admission
 * changes, and when a backoff or a daily budget runs out, until its wait is over.
 *
 * Every change that can make work admissible (a workspace queued or leaving `running`, a backoff cleared, a new
 * configuration) records an event, so the event log is the wake-up signal: no timer polls the queue. Waiters are
 * tried in arrival order, and each try is the ordinary atomic claim, so waiting never lets a claim past a limit.
 */
import { DomainError } from '../core/errors.js'
import type { EventLog } from '../events/events.js'
import type { ChangeEvent } from '../events/model.js'
import type { Pools } from '../pools/pools.js'
import type { ClaimRequest, Queue, QueueItem } from './queue.js'

type Claimed = Awaited<ReturnType<Queue['claim']>>

interface Waiter {
  req: ClaimRequest
  resolve: (claimed: Claimed) => void
  timer: NodeJS.Timeout
  /** A claim is in flight: its outcome decides, even if the wait ran out meanwhile. */
  trying: boolean
  expired: boolean
}

export class ClaimWaits {
  readonly #queue: Queue
  readonly #pools: Pools
  readonly #events: EventLog
  readonly #clock: () => Date
  readonly #max: number
  /** In arrival order: the longest-waiting claim is tried first. */
  readonly #waiting = new Set<Waiter>()
  /** Counts changes, so a try that raced one is repeated instead of sleeping through it. */
  #epoch = 0
  #wakeQueued = false
  #timeTimer: NodeJS.Timeout | null = null
  // Set by close(): a claim whose first try was still running then must answer, not start a wait nobody will end.
  #closed = false
  readonly #onEvent = (_event: ChangeEvent): void => this.#changed()

  constructor (deps: { queue: Queue, pools: Pools, events: EventLog, clock: () => Date }, max: number) {
    this.#queue = deps.queue
    this.#pools = deps.pools
    this.#events = deps.events
    this.#clock = deps.clock
    this.#max = max
    this.#events.on('event', this.#onEvent)
  }

  get waiting (): number { return this.#waiting.size }

  /**
   * Claims now, or waits up to `waitMs` for admissible work. Null when nothing came in time, when `signal`
   * aborts (the client left) or when the service closes.
   */
  async claim (req: ClaimRequest, waitMs: number, signal: AbortSignal): Promise<Claimed> {
    const epoch = this.#epoch
    const now = await this.#queue.claim(req)
    if (now !== null || waitMs <= 0 || signal.aborted || this.#closed) return now
    if (this.#waiting.size >= this.#max) {
      throw new DomainError('too_many_waiters', `${this.#max} claims are already waiting (CLAIM_WAITERS_MAX); retry, or claim without wait_s`)
    }
    return await new Promise<Claimed>((resolve) => {
      const waiter: Waiter = {
        req,
        resolve,
        trying: false,
        expired: false,
        timer: setTimeout(() => this.#expire(waiter), waitMs)
      }
      this.#waiting.add(waiter)
      signal.addEventListener('abort', () => this.#expire(waiter), { once: true })
      if (epoch !== this.#epoch) this.#try(waiter)
      else this.#armTimeTimer()
    })
  }

  /** Ends every wait with "nothing" (204), so shutdown never waits for a long poll. */
  close (): void {
    this.#closed = true
    this.#events.off('event', this.#onEvent)
    if (this.#timeTimer !== null) clearTimeout(this.#timeTimer)
    for (const w of this.#waiting) this.#finish(w, null)
  }

  #changed (): void {
    this.#epoch++
    if (this.#wakeQueued) return
    this.#wakeQueued = true
    // The event is emitted while its change is still being applied: try once the change is complete.
    setImmediate(() => {
      this.#wakeQueued = false
      for (const w of this.#waiting) if (!w.trying) this.#try(w)
    })
  }

  #try (w: Waiter): void {
    w.trying = true
    const epoch = this.#epoch
    this.#queue.claim(w.req).then((claimed) => {
      w.trying = false
      if (claimed !== null || w.expired) return this.#finish(w, claimed)
      if (epoch !== this.#epoch) return this.#try(w)
      this.#armTimeTimer()
    }, () => {
      // The claim's commit failed (the store is unavailable): answer "nothing" rather than hold the client.
      w.trying = false
      this.#finish(w, null)
    })
  }

  #expire (w: Waiter): void {
    w.expired = true
    if (!w.trying) this.#finish(w, null)
  }

  #finish (w: Waiter, claimed: Claimed): void {
    if (!this.#waiting.delete(w)) return
    clearTimeout(w.timer)
    w.resolve(claimed)
    if (this.#waiting.size === 0 && this.#timeTimer !== null) {
      clearTimeout(this.#timeTimer)
      this.#timeTimer = null
    }
  }

  /**
   * Backoffs and daily budgets end with time, not with an event: wake at the earliest such end among the
   * queued workspaces held back by one. A wake that finds them still held back just waits again.
   */
  #armTimeTimer (): void {
    if (this.#timeTimer !== null) clearTimeout(this.#timeTimer)
    this.#timeTimer = null
    if (this.#waiting.size === 0) return
    const now = this.#clock()
    let next = Infinity
    for (const item of this.#queue.list()) next = Math.min(next, this.#heldUntil(item, now))
    if (next === Infinity) return
    this.#timeTimer = setTimeout(() => { this.#timeTimer = null; this.#changed() }, Math.max(0, next - now.getTime()) + 5)
    this.#timeTimer.unref()
  }

  /** When the first time-bound reason holding `item` back ends; Infinity when none does. */
  #heldUntil (item: QueueItem, now: Date): number {
    if (!item.reasons.includes('backoff') && !item.reasons.includes('daily_budget')) return Infinity
    const pool = this.#pools.view(item.workspace.pool, now)
    const ends = [pool.backoff_until, item.reasons.includes('daily_budget') ? pool.daily.resets_at : null]
    return Math.min(...ends.map((t) => t === null ? Infinity : Date.parse(t)))
  }
}

/** A claim as a client asks for it (`wait_s` in seconds, at most MAX_CLAIM_WAIT_S): claimed now, after a wait, or null. */
export async function claimWork (waits: ClaimWaits, { wait_s: waitS = 0, ...req }: ClaimRequest & { wait_s?: number }, signal: AbortSignal): Promise<Claimed> {
  return await waits.claim(req, waitS * 1000, signal)
}
