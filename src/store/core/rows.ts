/** The store boundary: every DuckDB value (BIGINT, TIMESTAMPTZ, lists) is converted here and nowhere else. */
import { LIST, VARCHAR, listValue, type DuckDBType, type DuckDBValue } from '@duckdb/node-api'

/** One row of the `entries` table; `value` is JSON text, or null for a tombstone. */
export interface Entry {
  grp: string
  key: string
  value: string | null
  /** RFC 3339 UTC. */
  updatedAt: string
}

// listValue infers the element type from the first item (a leading null made the whole list NULL
// in our probe), so every list parameter is typed explicitly.
const VARCHAR_LIST: DuckDBType = LIST(VARCHAR)

/** Parameters for one set-based upsert of many entries: four typed lists, zipped by unnest in SQL. */
export function entryListParams (entries: readonly Entry[]): { values: DuckDBValue[], types: DuckDBType[] } {
  return {
    values: [
      listValue(entries.map((e) => e.grp)),
      listValue(entries.map((e) => e.key)),
      listValue(entries.map((e) => e.value)),
      listValue(entries.map((e) => e.updatedAt))
    ],
    types: [VARCHAR_LIST, VARCHAR_LIST, VARCHAR_LIST, VARCHAR_LIST]
  }
}

/** A row of `SELECT grp, key, value, updated_at FROM entries` as an Entry. */
export function toEntry (row: readonly unknown[]): Entry {
  const [grp, key, value, updatedAt] = row
  return {
    grp: String(grp),
    key: String(key),
    value: value === null ? null : String(value),
    updatedAt: (updatedAt as Date).toISOString()
  }
}

/** Rows of `SELECT entry_kind, count(*)::INTEGER … GROUP BY entry_kind` as a buffer aggregate `{kind: n}`. */
export function toAggregate (rows: ReadonlyArray<readonly unknown[]>): Record<string, number> {
  return Object.fromEntries(rows.map(([kind, n]) => [String(kind), Number(n)]))
}

/** The first column of a one-row result (a count, a max) as a number, 0 when NULL: DuckDB returns them as bigint or VARCHAR. */
export function toScalarNumber (rows: readonly unknown[][]): number {
  const value = rows[0]?.[0]
  return value == null ? 0 : Number(value)
}
