/** `GET /v1/stats/runs` as an answer: the range with its defaults, checked, then the statistics from the analytics lane. */
import { DomainError } from '../core/errors.js'
import type { Lane } from './lane.js'
import type { StatsGrouping } from './model.js'
import { runStats, type StatsFilters } from './stats.js'
import { parseRange } from './time-range.js'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
// Hours or days one answer may group by: each is a group to key and sort; 10 years by hour (87,600) took
// seconds of the analytics lane per read. 1,000 covers 41 days by hour, or 2.7 years by day.
export const MAX_TIME_GROUPS = 1000
const GROUP_MS: Partial<Record<string, number>> = { hour: HOUR_MS, day: DAY_MS }

export interface StatsRequest extends StatsFilters {
  /** RFC 3339; default 7 days before `until`. */
  since?: string
  /** RFC 3339; default now. */
  until?: string
  by?: StatsGrouping
}

/**
 * Runs that ended in `[since, until)`, grouped by `by` (one group `all` without it); 400 `invalid_range` for an
 * empty range, or one of more than MAX_TIME_GROUPS hours or days when grouped by them.
 */
export async function statsAnswer (lane: Lane, clock: () => Date, { since: sinceText, until: untilText, by, ...filters }: StatsRequest) {
  const range = parseRange(sinceText, untilText)
  const until = range.until ?? clock()
  const since = range.since ?? new Date(until.getTime() - 7 * DAY_MS)
  if (since >= until) throw new DomainError('invalid_range', '`since` must be before `until`')
  const groupMs = GROUP_MS[by ?? '']
  if (groupMs !== undefined && (until.getTime() - since.getTime()) / groupMs > MAX_TIME_GROUPS) {
    throw new DomainError('invalid_range', `by=${String(by)} groups at most ${MAX_TIME_GROUPS.toLocaleString('en-US')} ${String(by)}s: shorten the window (since, until)${by === 'hour' ? ' or group by day' : ''}`)
  }
  const groups = await lane.run((conn) => runStats(conn, { since, until, by, filters }))
  return { since: since.toISOString(), until: until.toISOString(), by: by ?? null, groups }
}
