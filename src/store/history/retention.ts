/** Keeps the run history bounded: rows older than the retention go, then the oldest beyond the row cap. */
import type { Database } from '../core/database.js'
import { toScalarNumber } from '../core/rows.js'
import { RUN_HISTORY } from './table.js'

const DAY_MS = 86_400_000

/** Returns how many rows were deleted. */
export async function pruneHistory (db: Database, now: Date, retentionDays: number, maxRows: number): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS).toISOString()
  let deleted = toScalarNumber(await db.rows(`DELETE FROM ${RUN_HISTORY} WHERE ended_at < $1::TIMESTAMPTZ`, [cutoff]))
  const excess = toScalarNumber(await db.rows(`SELECT count(*) FROM ${RUN_HISTORY}`)) - maxRows
  if (excess > 0) {
    deleted += toScalarNumber(await db.rows(
      `DELETE FROM ${RUN_HISTORY} WHERE rowid IN (SELECT rowid FROM ${RUN_HISTORY} ORDER BY ended_at LIMIT $1)`, [excess]))
  }
  return deleted
}
