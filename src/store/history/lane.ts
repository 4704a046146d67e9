/**
 * A lane: reads that run one at a time on side connections of the store, never on the writer's. Each long
 * DuckDB call holds a libuv worker thread (4 by default); letting reads take them all would leave the
 * group-commit writer waiting for a thread, so calls queue here and a full queue is a 503. The service has
 * two: the analytics lane (stats, exports, backups) and the reads lane (event log pages, the charts' first
 * read), so a page of the event log never waits behind an export.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import pLimit, { type LimitFunction } from 'p-limit'
import type { Database } from '../core/database.js'
import { DomainError, storeUnavailable } from '../core/errors.js'
import type { Writer } from '../core/writer.js'

// Enough for a dashboard's refreshes and a few people with curl; beyond it callers are told to come back.
const MAX_WAITING = 16

export class Lane {
  readonly #limit: LimitFunction = pLimit(1)
  readonly #store: () => Database | null
  readonly #writer: Writer
  readonly #name: string

  /** `name` says what the lane runs, in its refusals. */
  constructor (store: () => Database | null, writer: Writer, name = 'history, exports and backups') {
    this.#store = store
    this.#writer = writer
    this.#name = name
  }

  /** Runs fn with a fresh side connection, after the calls queued before it; 503 when the store is unavailable or the queue is full. */
  run<T> (fn: (conn: DuckDBConnection, db: Database) => Promise<T>): Promise<T> {
    if (this.#limit.pendingCount >= MAX_WAITING) {
      return Promise.reject(new DomainError('analytics_busy', `${MAX_WAITING} calls for ${this.#name} are already waiting; try again shortly`))
    }
    return this.#limit(async () => {
      const db = this.#store()
      if (db === null || this.#writer.mode !== 'ok') throw storeUnavailable(`the store is unavailable (degraded): ${this.#name} need it`)
      // Every acknowledged change is in DuckDB before the side connection takes its snapshot.
      await this.#writer.folded()
      const conn = await db.connect()
      try {
        // Exports print timestamps in the session's zone; UTC whatever the host's TZ.
        await conn.run("SET TimeZone = 'UTC'")
        return await fn(conn, db)
      } finally {
        conn.closeSync()
      }
    })
  }

  /** Resolves once every queued call has run: the store waits for this before it closes. */
  async idle (): Promise<void> {
    await this.#limit(async () => {})
  }
}
