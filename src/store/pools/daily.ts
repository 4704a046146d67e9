/** The daily budget's day: it turns at `reset_utc` (HH:MM, UTC), not at midnight. */

const DAY_MS = 86_400_000

/** The start of the budget day containing `now`. */
export function lastReset (now: Date, resetUtc: string): Date {
  const [h, m] = resetUtc.split(':').map(Number) as [number, number]
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m)
  return new Date(today <= now.getTime() ? today : today - DAY_MS)
}

export function nextReset (now: Date, resetUtc: string): Date {
  return new Date(lastReset(now, resetUtc).getTime() + DAY_MS)
}
