/** The event log as stored: paged reads after an id (replay for clients further behind than memory) and retention. */
import type { Database } from '../core/database.js'
import { EVENT_GROUP, eventKey } from './events.js'
import type { ChangeEvent } from './model.js'
import { toScalarNumber } from '../core/rows.js'

/** Up to `limit` stored events with an id above `afterId`, oldest first. */
export async function readEventsAfter (db: Database, afterId: number, limit: number): Promise<ChangeEvent[]> {
  const rows = await db.rows(
    'SELECT value FROM entries WHERE grp = $1 AND key > $2 AND value IS NOT NULL ORDER BY key LIMIT $3',
    [EVENT_GROUP, eventKey(afterId), limit]
  )
  return rows.map(toChangeEvent)
}

/**
 * Keeps the newest `keep` events the store holds and deletes the rest; returns how many went. Keys are
 * zero-padded ids, so key order is id order and the cut-off is the key `keep` places below the newest.
 * (Events still in the log are newer than any stored one: the caller folds first to count them too.)
 */
export async function pruneEvents (db: Database, keep: number): Promise<number> {
  const cut = await db.rows('SELECT key FROM entries WHERE grp = $1 ORDER BY key DESC LIMIT 1 OFFSET $2', [EVENT_GROUP, keep])
  if (cut.length === 0) return 0
  return toScalarNumber(await db.rows('DELETE FROM entries WHERE grp = $1 AND key <= $2', [EVENT_GROUP, String(cut[0]?.[0])]))
}

/** A row of `SELECT value FROM entries WHERE grp = 'event'` as the event it records. */
export function toChangeEvent (row: readonly unknown[]): ChangeEvent {
  return JSON.parse(String(row[0])) as ChangeEvent
}
