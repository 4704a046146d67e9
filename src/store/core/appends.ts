/**
 * Rows for append-only tables (the run history), staged with a group commit and inserted in its
 * transaction: one `INSERT … SELECT unnest(…)` per table, however many rows the commit carries. A row may
 * replace earlier ones (a run's own outcome replacing the reap recorded for it): those are deleted by one
 * `DELETE … USING (SELECT unnest(…))` just before, in the same transaction.
 */
import { LIST, VARCHAR, listValue, type DuckDBType, type DuckDBValue } from '@duckdb/node-api'

/** Column → value; every value travels as text (or NULL) and DuckDB casts it to the column's type on insert. */
export type AppendRow = Readonly<Record<string, string | number | null>>

export interface Append {
  table: string
  row: AppendRow
  /** Rows of the table equal to this on each of its columns are deleted before `row` is inserted. */
  replaces?: AppendRow
}

export interface Statement {
  sql: string
  values: DuckDBValue[]
  types: DuckDBType[]
}

// Table and column names come from the code, never from a request; the check keeps it that way.
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/

const VARCHAR_LIST: DuckDBType = LIST(VARCHAR)

/** The columns of a table's first row (checked to be identifiers) and every row's values, as text lists. */
function columnLists (table: string, rows: readonly AppendRow[]): { columns: string[], values: DuckDBValue[], types: DuckDBType[] } {
  const columns = Object.keys(rows[0] as AppendRow)
  for (const name of [table, ...columns]) if (!IDENTIFIER.test(name)) throw new Error(`not an identifier: ${name}`)
  return {
    columns,
    values: columns.map((c) => listValue(rows.map((r) => r[c] == null ? null : String(r[c])))),
    types: columns.map(() => VARCHAR_LIST)
  }
}

/**
 * Per table, in staging order: one delete of the rows replaced (when any are), then one insert, its columns
 * taken from the table's first row. DuckDB casts the text to each column's type, in the insert and in the
 * delete's comparisons alike.
 */
export function appendStatements (appends: readonly Append[]): Statement[] {
  const byTable = new Map<string, { rows: AppendRow[], replaced: AppendRow[] }>()
  for (const { table, row, replaces } of appends) {
    let rows = byTable.get(table)
    if (rows === undefined) byTable.set(table, rows = { rows: [], replaced: [] })
    if (replaces !== undefined) {
      // A replaced row staged in this same commit is dropped here: it is not in the table yet.
      const same = rows.rows.findIndex((r) => Object.entries(replaces).every(([c, v]) => String(r[c]) === String(v)))
      if (same >= 0) rows.rows.splice(same, 1)
      else rows.replaced.push(replaces)
    }
    rows.rows.push(row)
  }
  return [...byTable].flatMap(([table, { rows, replaced }]) => {
    const statements: Statement[] = []
    if (replaced.length > 0) {
      const { columns, values, types } = columnLists(table, replaced)
      statements.push({
        sql: `DELETE FROM ${table} USING (SELECT ${columns.map((c, i) => `unnest($${i + 1}) AS ${c}`).join(', ')}) AS replaced
          WHERE ${columns.map((c) => `${table}.${c} = replaced.${c}`).join(' AND ')}`,
        values,
        types
      })
    }
    const { columns, values, types } = columnLists(table, rows)
    statements.push({ sql: `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((_, i) => `unnest($${i + 1})`).join(', ')}`, values, types })
    return statements
  })
}
