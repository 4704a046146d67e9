/**
 * What the store can hold, checked in JS before a change is logged. Once a change is in the log it is
 * acknowledged, so a value DuckDB would refuse at fold time must be caught here, where its caller can
 * still be told (`write_refused`): an entry's time must be one a TIMESTAMPTZ takes, and a row for an
 * append-only table must fit that table's columns (each table registers its check: history/table.ts).
 */
import type { Append, AppendRow } from './appends.js'
import type { Entry } from './rows.js'
import { isTime } from './time.js'

/** A table's row checks: null when the row fits, else why not. */
export interface RowCheck {
  row: (row: AppendRow) => string | null
  /** The columns a `replaces` row names (some of the table's). */
  replaced: (row: AppendRow) => string | null
}

/** The append-only tables the store has, by name. */
export type StoreChecks = ReadonlyMap<string, RowCheck>

/** Why the store could not hold this change, or null when it can. */
export function refusalOf (checks: StoreChecks, entries: readonly Entry[], appends: readonly Append[]): string | null {
  for (const e of entries) {
    if (!isTime(e.updatedAt)) return `${e.grp}/${e.key}: updated_at ${JSON.stringify(e.updatedAt)} is not a time the store holds`
  }
  for (const a of appends) {
    const check = checks.get(a.table)
    if (check === undefined) return `no append-only table ${a.table}`
    const why = check.row(a.row) ?? (a.replaces === undefined ? null : check.replaced(a.replaces))
    if (why !== null) return `${a.table}: ${why}`
  }
  return null
}
