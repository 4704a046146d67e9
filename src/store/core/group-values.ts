/**
 * Bulk reads of one group's stored values. Converting a DuckDB VARCHAR into a JS string costs a few
 * microseconds each, however short: at 100,000 registry rows that was most of start-up. Here DuckDB
 * joins the values of each stretch of the snapshot into one string, and the JS side splits it again.
 */
import type { Database } from './database.js'

// U+0001 may not appear unescaped anywhere in JSON text, so it cannot occur inside a stored value.
const SEPARATOR = '\u0001'
// Rows per joined string: ~0.5 MB of registry JSON each, few enough strings, small enough pieces.
const ROWS_PER_STRING = 2048

// What the `entries` view reads for one group (migrations.ts): snapshot rows the log does not override,
// then the newest logged row of each key, tombstones dropped. The log is empty after the fold at open.
const GROUP_VALUES = `SELECT string_agg(value, chr(1)) FROM entry_snapshot s
    WHERE grp = $1 AND value IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entry_log l WHERE l.grp = s.grp AND l.key = s.key)
    GROUP BY rowid // ${ROWS_PER_STRING}
  UNION ALL
  SELECT string_agg(value, chr(1)) FROM (
    SELECT value FROM entry_log WHERE grp = $1 QUALIFY row_number() OVER (PARTITION BY key ORDER BY seq DESC) = 1
  ) WHERE value IS NOT NULL`

/** Every live value of group `grp` (JSON text), in no particular order. */
export async function readGroupValues (db: Database, grp: string): Promise<string[]> {
  const values: string[] = []
  for (const joined of await db.column(GROUP_VALUES, [grp])) {
    if (joined !== null) values.push(...String(joined).split(SEPARATOR))
  }
  return values
}
