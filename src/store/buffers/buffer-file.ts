/**
 * One QA buffer file in go-store's layout (API §7): its own DuckDB instance with small limits, its
 * statements serialised by Database. Buffers left by the Go agent have the same tables, so they are
 * read the same way.
 *
 * A full disk: a failed append is refused with 503 `disk_full` and nothing of it is kept. But when the
 * append's commit reached the WAL and the automatic checkpoint after it failed, DuckDB says so ("COMMIT
 * succeeded and is durable, but the autocheckpoint failed") and refuses every later statement on that
 * instance, which used to leave the buffer answering 500 forever. That append is stored, so it is answered
 * as such; the instance is dropped and the file opened again (replaying its WAL) before the next statement,
 * and until that works, once space is back, the buffer answers 503.
 */
import { rm } from 'node:fs/promises'
import { BIGINT, LIST, VARCHAR, listValue } from '@duckdb/node-api'
import { Database, type DatabaseOptions } from '../core/database.js'
import { orDiskFull } from '../core/disk.js'
import { toAggregate } from '../core/rows.js'
import type { Finding } from './model.js'

/**
 * Per-buffer DuckDB settings. An open buffer costs ~3 MB of RSS whatever the limit; 16 MB is a ceiling,
 * not a reservation. A low checkpoint threshold moves rows out of memory early: with the default
 * (16 MB of WAL) a 16 MB buffer could not sort its own 100,000 rows at commit. No extension is ever
 * loaded, so a file that is not DuckDB never makes DuckDB try to download one.
 */
export const BUFFER_DB: DatabaseOptions = {
  threads: 1,
  memoryLimit: '16MB',
  settings: { checkpoint_threshold: '1MB', autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' }
}

// go-store's workspace.go, statement for statement, so either program can read the other's files.
const SCHEMA = [
  'CREATE SEQUENCE IF NOT EXISTS workspace_entries_entry_id_seq START 1',
  `CREATE TABLE IF NOT EXISTS workspace_entries (
    entry_id BIGINT PRIMARY KEY DEFAULT nextval('workspace_entries_entry_id_seq'),
    entry_kind TEXT NOT NULL,
    entry_data TEXT NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE VIEW IF NOT EXISTS entries AS
    SELECT entry_id AS id, entry_kind AS kind, entry_data AS data, created_at FROM workspace_entries`
]

// One statement per batch: the lists are zipped by unnest, in order, so entry ids follow the batch.
const INSERT = `INSERT INTO workspace_entries (entry_kind, entry_data, created_at)
  SELECT unnest($1), unnest($2), $3`

/** `{kind: n}` over a buffer table: an open buffer's `workspace_entries`, or an attached orphan's. */
export const aggregateSql = (table: string): string =>
  `SELECT entry_kind, count(*)::INTEGER FROM ${table} GROUP BY entry_kind ORDER BY entry_kind`

export interface NewEntry {
  kind: string
  /** Any JSON object; stored as JSON text. */
  data: object
}

/** Removes a buffer's database, its WAL and DuckDB's spill folder, whichever exist. */
export async function removeBufferFiles (path: string): Promise<void> {
  await Promise.all([rm(path, { force: true }), rm(`${path}.wal`, { force: true }), rm(`${path}.tmp`, { recursive: true, force: true })])
}

// DuckDB's words for a commit that is stored although the statement failed after it.
const DURABLE_BUT_CHECKPOINT_FAILED = /COMMIT succeeded and is durable/
// And for an instance that refuses everything after a fatal error: it must be opened again.
const INVALIDATED = /database has been invalidated|Reopen the database instance/

export class BufferFile {
  readonly path: string
  #db: Database
  /** The instance refused further statements: the file is opened again before the next one. */
  #reopen = false

  private constructor (path: string, db: Database) {
    this.path = path
    this.#db = db
  }

  /** Runs fn on a working instance: a broken one is replaced first; a full disk is 503 `disk_full`. */
  async #use<T> (fn: (db: Database) => Promise<T>): Promise<T> {
    try {
      if (this.#reopen) {
        await this.#db.close({ checkpoint: false }).catch(() => {})
        this.#db = await Database.open(this.path, BUFFER_DB)
        this.#reopen = false
      }
      return await fn(this.#db)
    } catch (err) {
      if (INVALIDATED.test(String((err as Error).message))) this.#reopen = true
      throw orDiskFull(err, `the buffer file ${this.path}`)
    }
  }

  /** Creates the file and its tables; the caller has made sure no file of that name exists. */
  static async create (path: string): Promise<BufferFile> {
    // A WAL without its database is a leftover of a removal cut short; DuckDB would replay it into the new file.
    await rm(`${path}.wal`, { force: true })
    const db = await Database.open(path, BUFFER_DB)
    try {
      await db.transaction(async (run) => { for (const sql of SCHEMA) await run(sql) })
    } catch (err) {
      await db.close({ checkpoint: false })
      await removeBufferFiles(path)
      throw err
    }
    return new BufferFile(path, db)
  }

  /** Appends entries in one statement; `createdAtMs` is Unix ms, as go-store writes it. */
  async append (entries: readonly NewEntry[], createdAtMs: number): Promise<void> {
    const values = [listValue(entries.map((e) => e.kind)), listValue(entries.map((e) => JSON.stringify(e.data))), BigInt(createdAtMs)]
    await this.#use(async (db) => {
      try {
        await db.run(INSERT, values, [LIST(VARCHAR), LIST(VARCHAR), BIGINT])
      } catch (err) {
        if (!DURABLE_BUT_CHECKPOINT_FAILED.test(String((err as Error).message))) throw err
        // Stored: the append stands; the instance is replaced before the next statement.
        this.#reopen = true
      }
    })
  }

  /** What a commit journals: the aggregate and the data of the `finding` entries, in insertion order. */
  async contents (): Promise<{ aggregate: Record<string, number>, findings: Finding[] }> {
    return await this.#use(async (db) => {
      const aggregate = toAggregate(await db.rows(aggregateSql('workspace_entries')))
      const rows = await db.rows("SELECT entry_data FROM workspace_entries WHERE entry_kind = 'finding' ORDER BY entry_id")
      return { aggregate, findings: rows.map((r) => JSON.parse(String(r[0])) as Finding) }
    })
  }

  /** Closes and keeps the file: it is an orphan for the next start-up to discard (go-store's Close). */
  close (): Promise<void> {
    return this.#db.close()
  }

  /** Closes and deletes the file (commit, discard). */
  async remove (): Promise<void> {
    await this.#db.close({ checkpoint: false })
    await removeBufferFiles(this.path)
  }
}
