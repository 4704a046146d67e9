/**
 * Commit markers, go-store's `workspace:{buffer}` / `summary` entry holding the committed aggregate.
 * A marker is written in the same statement as the journal row, so a buffer file whose marker exists
 * belongs to a committed cycle: the crash came between the commit and the file's removal.
 *
 * Unlike go-store, a marker is tombstoned once its file is gone: buffer names are reused every cycle
 * (`qa-<workspace>`), and a marker left behind would make a later, crashed cycle of the same name look
 * committed. The aggregate itself stays in the journal row.
 */
import type { Database } from '../core/database.js'
import type { Writer } from '../core/writer.js'

const PREFIX = 'workspace:'
const KEY = 'summary'

/** Where the marker of `buffer` is stored: (group, key). */
export const markerEntry = (buffer: string): readonly [string, string] => [PREFIX + buffer, KEY]

/** Stages the marker of `buffer` (its aggregate), or with null its tombstone. */
export function stageMarker (writer: Writer, buffer: string, aggregate: Record<string, number> | null, at: string): void {
  writer.stage(PREFIX + buffer, KEY, aggregate === null ? null : JSON.stringify(aggregate), at)
}

/** The names of the buffers whose marker is in the store. */
export async function readMarkers (db: Database): Promise<Set<string>> {
  const rows = await db.rows('SELECT grp FROM entries WHERE starts_with(grp, $1) AND key = $2 AND value IS NOT NULL', [PREFIX, KEY])
  return new Set(rows.map((r) => String(r[0]).slice(PREFIX.length)))
}
