/**
 * The analytics instance: a DuckDB instance of its own, in memory, for the heavy reads (exports, the check
 * of a backup). DuckDB's memory_limit is per instance and every connection of an instance shares it: an
 * export on a side connection of the store's instance once took all of its 256 MB, the writer's next commit
 * failed with `Out of Memory` and the store went degraded. Here the heavy work gets ANALYTICS_MEMORY_LIMIT,
 * spills to a folder under `.core/tmp/` (bounded per run by the free space above the disk reserve), and
 * reads a copy of the store attached to it (history/snapshot.ts): the store's own file is never opened
 * twice in one process (a second handle on it would release the writer's lock when it closes).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

export interface AnalyticsOptions {
  /** DuckDB's memory_limit for this instance, e.g. `192MB`. */
  memoryLimit: string
  /** Where DuckDB spills what does not fit (emptied at start-up with the rest of `.core/tmp/`). */
  spillDir: string
}

export class Analytics {
  readonly #opts: AnalyticsOptions
  #instance: Promise<DuckDBInstance> | null = null

  constructor (opts: AnalyticsOptions) {
    this.#opts = opts
  }

  /** The instance, created on first use: a service nobody exports from never holds it. */
  #open (): Promise<DuckDBInstance> {
    // DuckDB creates the spill folder only when it first spills.
    this.#instance ??= DuckDBInstance.create(':memory:', { threads: '1', memory_limit: this.#opts.memoryLimit, temp_directory: this.#opts.spillDir })
    // A failed start is tried again by the next call.
    this.#instance.catch(() => { this.#instance = null })
    return this.#instance
  }

  /**
   * Runs fn on a fresh connection of the instance. `spillBytes` bounds what this run may spill to disk
   * (the free space above the reserve); fn may interrupt its own statements through `conn.interrupt()`.
   */
  async session<T> (spillBytes: number, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await (await this.#open()).connect()
    try {
      await conn.run("SET TimeZone = 'UTC'")
      await conn.run(`SET max_temp_directory_size = '${Math.max(1, Math.floor(spillBytes / 1024 / 1024))}MiB'`)
      return await fn(conn)
    } finally {
      conn.closeSync()
    }
  }

  /** Releases the instance (the service is closing; the lane is idle). */
  async close (): Promise<void> {
    const instance = await this.#instance?.catch(() => null)
    this.#instance = null
    instance?.closeSync()
  }
}
