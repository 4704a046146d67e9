/**
 * A copy of the store taken while the service writes: what a backup keeps and what an export reads. With
 * automatic checkpoints held off, DuckDB only appends commits to the WAL and never rewrites the store file,
 * so copying the file and then the WAL gives the last checkpoint plus every commit after it: everything
 * acknowledged before the call (each commit is in the WAL, fsynced, before it is acknowledged; a commit
 * still being appended is cut off and dropped on replay). Writers never wait for the copy: only for the
 * statement that holds off checkpoints, queued behind the commit in flight.
 */
import { copyFile, lstat } from 'node:fs/promises'
import type { DuckDBConnection } from '@duckdb/node-api'
import type { Database } from '../core/database.js'
import { storeFile } from '../core/paths.js'

const sizeOf = (path: string): Promise<number> => lstat(path).then((s) => s.size, () => 0)

/** Bytes a copy of the store takes: its file and its WAL. */
export async function storeBytes (dataDir: string): Promise<number> {
  const store = storeFile(dataDir)
  return await sizeOf(store) + await sizeOf(store + '.wal')
}

/**
 * Copies the store file and its WAL to `dest` (and `dest.wal`) with automatic checkpoints held off; `conn`
 * is a side connection, `db` the store. Returns how long writes waited for that.
 */
export async function copyStore (conn: DuckDBConnection, db: Database, dataDir: string, dest: string): Promise<number> {
  const threshold = String((await conn.runAndReadAll("SELECT current_setting('checkpoint_threshold')")).getRowsJS()[0]?.[0])
  const started = performance.now()
  await db.run("SET checkpoint_threshold = '1000TB'")
  const stallMs = performance.now() - started
  try {
    const store = storeFile(dataDir)
    await copyFile(store, dest)
    await copyFile(store + '.wal', dest + '.wal').catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
  } finally {
    await db.run(`SET checkpoint_threshold = '${threshold.replaceAll("'", "''")}'`)
  }
  return stallMs
}
