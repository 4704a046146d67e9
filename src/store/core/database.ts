/** The DuckDB handle: one instance and one connection per file, every statement strictly serialised. */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DuckDBInstance, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api'

export interface DatabaseOptions {
  threads: number
  memoryLimit: string
  /** Further DuckDB settings, by their SQL names (e.g. `checkpoint_threshold`). */
  settings?: Record<string, string>
}

/** Raised when another process holds the file's write lock: two writers are never right. */
export class StoreLockedError extends Error {
  readonly path: string

  constructor (path: string, cause: unknown) {
    super(`the store ${path} is locked by another process`, { cause })
    this.path = path
  }
}

// DuckDB names the class of every error first (`Conversion Error: …`). These classes refuse the data of
// one statement (a value a column cannot take, a constraint it breaks) and leave the store as it was;
// every other class (IO, FATAL, Out of Memory, …) says the store itself cannot write.
const REFUSED_VALUE = /^(Conversion|Constraint|Out of Range|Invalid Input|Mismatch Type|Invalid Type) Error:/

/** True when DuckDB refused a statement for the values it carried, not because the store cannot write. */
export function isRefusedValue (err: unknown): boolean {
  return err instanceof Error && REFUSED_VALUE.test(err.message)
}

// Without parameters DuckDB runs the text as it is; with an empty list it would prepare it first, for nothing.
const params = (values: DuckDBValue[]): DuckDBValue[] | undefined => values.length > 0 ? values : undefined

export class Database {
  readonly path: string
  #instance: DuckDBInstance
  #conn: DuckDBConnection
  // One active statement per connection: DuckDB interrupts a running statement when another starts.
  #tail: Promise<unknown> = Promise.resolve()
  #closed = false
  #closing: Promise<void> | null = null

  private constructor (path: string, instance: DuckDBInstance, conn: DuckDBConnection) {
    this.path = path
    this.#instance = instance
    this.#conn = conn
  }

  static async open (path: string, opts: DatabaseOptions): Promise<Database> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    let instance: DuckDBInstance
    try {
      instance = await DuckDBInstance.create(path, { ...opts.settings, threads: String(opts.threads), memory_limit: opts.memoryLimit })
    } catch (err) {
      if (/Could not set lock on file/.test(String((err as Error).message))) throw new StoreLockedError(path, err)
      throw err
    }
    return new Database(path, instance, await instance.connect())
  }

  #serial<T> (fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'))
    const next = this.#tail.then(() => fn(this.#conn))
    this.#tail = next.catch(() => {})
    return next
  }

  async run (sql: string, values: DuckDBValue[] = [], types?: DuckDBType[]): Promise<void> {
    await this.#serial((c) => c.run(sql, params(values), types))
  }

  /** Rows as arrays of JS values (BIGINT → bigint, TIMESTAMPTZ → Date): convert them in rows.ts, nowhere else. */
  async rows (sql: string, values: DuckDBValue[] = []): Promise<unknown[][]> {
    return this.#serial(async (c) => (await c.runAndReadAll(sql, params(values))).getRowsJS() as unknown[][])
  }

  /**
   * The first column of a result, read column-wise (for bulk reads, about half the cost of rows()) and
   * streamed, so DuckDB holds one chunk of it at a time rather than a copy of the whole result.
   */
  async column (sql: string, values: DuckDBValue[] = []): Promise<unknown[]> {
    return this.#serial(async (c) => {
      const out: unknown[] = []
      const result = await c.stream(sql, params(values))
      for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        for (const v of chunk.getColumnVector(0).toArray()) out.push(v)
      }
      return out
    })
  }

  /** Runs fn inside BEGIN … COMMIT on the serial connection; fn must use the executor it is given, never `this`. */
  async transaction<T> (fn: (run: (sql: string, values?: DuckDBValue[], types?: DuckDBType[]) => Promise<void>) => Promise<T>): Promise<T> {
    return this.#serial(async (c) => {
      await c.run('BEGIN TRANSACTION')
      try {
        const out = await fn(async (sql, values = [], types) => { await c.run(sql, params(values), types) })
        await c.run('COMMIT')
        return out
      } catch (err) {
        await c.run('ROLLBACK').catch(() => {})
        throw err
      }
    })
  }

  /**
   * A further connection to the same instance, outside the serial queue, for long reads (analytics, exports)
   * that must not hold up the writer: DuckDB gives it its own snapshot. The caller closes it.
   */
  connect (): Promise<DuckDBConnection> {
    if (this.#closed) return Promise.reject(new Error('store is closed'))
    return this.#instance.connect()
  }

  /**
   * Folds the WAL into the file so the volume holds a self-contained database, then releases the lock.
   * `checkpoint: false` skips the fold for a file about to be deleted. Statements queued before the
   * call still run; later ones are refused.
   */
  close ({ checkpoint = true }: { checkpoint?: boolean } = {}): Promise<void> {
    if (this.#closing === null) {
      const last = checkpoint ? this.#serial((c) => c.run('CHECKPOINT')).catch(() => {}) : this.#tail
      this.#closed = true
      this.#closing = last.then(() => {
        this.#conn.closeSync()
        this.#instance.closeSync()
      })
    }
    return this.#closing
  }
}
