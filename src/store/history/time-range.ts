/** The `since`/`until` query pair shared by the history routes, checked once. */
import { DomainError } from '../core/errors.js'

/** Dates for the given bounds; 400 `invalid_range` for a time Date cannot hold or an empty range. */
export function parseRange (since: string | undefined, until: string | undefined): { since?: Date, until?: Date } {
  const range = { since: since === undefined ? undefined : new Date(since), until: until === undefined ? undefined : new Date(until) }
  for (const d of [range.since, range.until]) {
    if (d !== undefined && Number.isNaN(d.getTime())) throw new DomainError('invalid_range', '`since` or `until` is not a time')
  }
  if (range.since !== undefined && range.until !== undefined && range.since >= range.until) {
    throw new DomainError('invalid_range', '`since` must be before `until`')
  }
  return range
}
