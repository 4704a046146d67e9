/**
 * The fold: moves the change log into the snapshot. A commit only appends to `entry_log` (no index,
 * no conflict check: the cheapest durable statement DuckDB has); in the background the latest row of
 * each key is merged into `entry_snapshot`, a NULL deleting the key, and the folded rows leave the log.
 * Readers see both through the `entries` view, so a fold changes what is stored where, never what is read.
 */
import type { Database } from './database.js'

// One MERGE per fold: the newest row of each key wins (the writer numbers commits, and a commit holds
// a key at most once). A key deleted before it ever reached the snapshot is simply not inserted.
const MERGE = `MERGE INTO entry_snapshot AS s
  USING (SELECT grp, key, value, updated_at FROM entry_log QUALIFY row_number() OVER (PARTITION BY grp, key ORDER BY seq DESC) = 1) AS l
  ON s.grp = l.grp AND s.key = l.key
  WHEN MATCHED AND l.value IS NULL THEN DELETE
  WHEN MATCHED THEN UPDATE SET value = l.value, updated_at = l.updated_at
  WHEN NOT MATCHED AND l.value IS NOT NULL THEN INSERT (grp, key, value, updated_at) VALUES (l.grp, l.key, l.value, l.updated_at)`

/**
 * Folds every logged row into the snapshot in one transaction (cheap when the log is empty). The
 * connection is serial, so no commit can land between the merge and the truncation.
 */
export async function foldLog (db: Database): Promise<void> {
  await db.transaction(async (run) => {
    await run(MERGE)
    await run('DELETE FROM entry_log')
  })
}
