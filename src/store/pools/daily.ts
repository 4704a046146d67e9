/** The daily budget's day: it turns at `reset_utc` (HH:MM, UTC), not at midnight. */

const DAY_MS = 86_400_000

/** The start of the budget day containing `now`. */
export function lastReset (now: Date, resetUtc: string): Date {
  const [h, m] = resetUtc.split(':').map(Number) as [number, number]
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m)
  return new Date(today <= now.getTime() ? today : today - DAY_MS)
}

/** A budget day: when it started and when the next one starts, as stored and answered (ISO text). */
export interface BudgetDay {
  start: string
  next: string
}

/**
 * The current budget day per reset time, worked out once a day instead of at every read and every run
 * that starts (a pool view asked for it per pool and per request: ~5 % of a `GET /v1/pools`).
 */
export class BudgetDays {
  readonly #days = new Map<string, BudgetDay & { from: number, to: number }>()

  /** The budget day that contains `now`. */
  of (now: Date, resetUtc: string): BudgetDay {
    const t = now.getTime()
    const day = this.#days.get(resetUtc)
    if (day !== undefined && t >= day.from && t < day.to) return day
    const from = lastReset(now, resetUtc).getTime()
    const fresh = { from, to: from + DAY_MS, start: new Date(from).toISOString(), next: new Date(from + DAY_MS).toISOString() }
    this.#days.set(resetUtc, fresh)
    return fresh
  }
}
