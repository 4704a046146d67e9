/** `GET /v1/stats/runs` as an answer: the range with its defaults, checked, then the statistics from the analytics lane. */
import { DomainError } from '../core/errors.js'
import type { Lane } from './lane.js'
import type { StatsGrouping } from './model.js'
import { runStats, type StatsFilters } from './stats.js'
import { parseRange } from './time-range.js'

const DAY_MS = 86_400_000

export interface StatsRequest extends StatsFilters {
  /** RFC 3339; default 7 days before `until`. */
  since?: string
  /** RFC 3339; default now. */
  until?: string
  by?: StatsGrouping
}

/** Runs that ended in `[since, until)`, grouped by `by` (one group `all` without it); 400 `invalid_range` for an empty range. */
export async function statsAnswer (lane: Lane, clock: () => Date, { since: sinceText, until: untilText, by, ...filters }: StatsRequest) {
  const range = parseRange(sinceText, untilText)
  const until = range.until ?? clock()
  const since = range.since ?? new Date(until.getTime() - 7 * DAY_MS)
  if (since >= until) throw new DomainError('invalid_range', '`since` must be before `until`')
  const groups = await lane.run((conn) => runStats(conn, { since, until, by, filters }))
  return { since: since.toISOString(), until: until.toISOString(), by: by ?? null, groups }
}
