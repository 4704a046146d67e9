/**
 * Rows for append-only tables (the run history), staged with a group commit and inserted in its
 * transaction: one `INSERT … SELECT unnest(…)` per table, however many rows the commit carries.
 */
import { LIST, VARCHAR, listValue, type DuckDBType, type DuckDBValue } from '@duckdb/node-api'

/** Column → value; every value travels as text (or NULL) and DuckDB casts it to the column's type on insert. */
export type AppendRow = Readonly<Record<string, string | number | null>>

export interface Append {
  table: string
  row: AppendRow
}

export interface Statement {
  sql: string
  values: DuckDBValue[]
  types: DuckDBType[]
}

// Table and column names come from the code, never from a request; the check keeps it that way.
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/

const VARCHAR_LIST: DuckDBType = LIST(VARCHAR)

/** One insert statement per table, its columns taken from the table's first row, rows in staging order. */
export function appendStatements (appends: readonly Append[]): Statement[] {
  const byTable = new Map<string, AppendRow[]>()
  for (const { table, row } of appends) {
    const rows = byTable.get(table)
    if (rows === undefined) byTable.set(table, [row])
    else rows.push(row)
  }
  return [...byTable].map(([table, rows]) => {
    const columns = Object.keys(rows[0] as AppendRow)
    for (const name of [table, ...columns]) if (!IDENTIFIER.test(name)) throw new Error(`not an identifier: ${name}`)
    return {
      sql: `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((_, i) => `unnest($${i + 1})`).join(', ')}`,
      values: columns.map((c) => listValue(rows.map((r) => r[c] == null ? null : String(r[c])))),
      types: columns.map(() => VARCHAR_LIST)
    }
  })
}
