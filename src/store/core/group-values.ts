/**
 * Bulk reads of one group's stored values. Converting a DuckDB VARCHAR into a JS string costs a few
 * microseconds each, however short: at 100,000 registry rows that was most of start-up. Here DuckDB
 * joins the values of each stretch of the table into one string, and the JS side splits it again.
 */
import type { Database } from './database.js'
import { toScalarNumber } from './rows.js'

// U+0001 may not appear unescaped anywhere in JSON text, so it cannot occur inside a stored value.
const SEPARATOR = '\u0001'
// Rows per joined string: ~100 kB of typical registry JSON, and far below V8's longest string even
// when every record is at its field limits (escaped, a record can reach a few hundred kB).
const ROWS_PER_STRING = 256
// Rows per statement: DuckDB holds a statement's joined strings until it ends, and its allocator gives
// the pages back only later. Reading all 100,000 at once held ~60 MB more at the end of start-up.
const ROWS_PER_STATEMENT = 32768

// One group's values in `entries`, joined by stretches of row ids.
const GROUP_VALUES = `SELECT string_agg(value, chr(1)) FROM entries
  WHERE grp = $1 AND value IS NOT NULL AND rowid >= $2 AND rowid < $3
  GROUP BY rowid // ${ROWS_PER_STRING}`

/**
 * Every live value of group `grp` (JSON text), in no particular order. The read is several statements,
 * so nothing may write the group meanwhile: start-up reads the registry before anything writes it, and
 * a store that opens late is read before the writer attaches to it.
 */
export async function readGroupValues (db: Database, grp: string): Promise<string[]> {
  const values: string[] = []
  const rows = toScalarNumber(await db.rows('SELECT max(rowid) + 1 FROM entries'))
  for (let from = 0; from < rows; from += ROWS_PER_STATEMENT) {
    for (const joined of await db.column(GROUP_VALUES, [grp, BigInt(from), BigInt(from + ROWS_PER_STATEMENT)])) {
      values.push(...String(joined).split(SEPARATOR))
    }
  }
  return values
}
