/** Reads a DuckDB file (or `:memory:`) with an instance of the test's own: an independent reader, no service involved. */
import { DuckDBInstance } from '@duckdb/node-api'

/** Rows of `sql` as objects; `file` must not be open in another process (the service holds its store's lock). */
export async function duckRows (file: string, sql: string, opts: { readOnly?: boolean } = {}): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(file, opts.readOnly === true ? { access_mode: 'READ_ONLY' } : {})
  try {
    const conn = await instance.connect()
    const rows = (await conn.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, unknown>>
    conn.closeSync()
    return rows
  } finally {
    instance.closeSync()
  }
}
