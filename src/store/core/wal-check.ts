/**
 * Whether DuckDB replayed the whole WAL when it opened the store. It stops without an error where it
 * cannot go on: a WAL whose header does not match the database (garbled, or left from another checkpoint)
 * is skipped whole, and a cut or torn tail is dropped; only a bad checksum inside an entry is an error.
 * Measured: a WAL of 200 commits with 14 garbled header bytes opened `ok` with none of them. So the WAL's
 * size is taken before the open and compared with where DuckDB goes on appending after replay, which is
 * what it replayed (`PRAGMA database_size`, wal_size). DuckDB prints that size rounded down to a tenth of
 * its unit (42.5 KiB), so a shortfall is seen when it is larger than that: 102 bytes below 1 MiB, 100 KiB
 * below 1 GiB. A kill -9 never tears the WAL (each write completes in the page cache); power loss may
 * tear its last entry, which held no acknowledged commit, and is reported like any other shortfall.
 */
import { copyFileSync, lstatSync } from 'node:fs'
import type { Database } from './database.js'

const UNITS: Record<string, number> = {
  bytes: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12
}

/** The WAL's size in bytes beside `storePath` (0 when there is none). */
export function walBytes (storePath: string): number {
  try {
    return lstatSync(`${storePath}.wal`).size
  } catch {
    return 0
  }
}

/** The most bytes a size DuckDB printed (`0 bytes`, `42.5 KiB`) can stand for; undefined when it is not one. */
export function printedSizeCeiling (printed: string): number | undefined {
  const m = /^(\d+)(?:\.(\d))?\s*(\S+)$/.exec(printed.trim())
  const unit = UNITS[m?.[3] ?? '']
  if (m === null || unit === undefined) return undefined
  const shown = Number(m[1]) + Number(m[2] ?? 0) / 10
  return unit === 1 ? shown : Math.ceil((shown + 0.1) * unit)
}

export interface WalShortfall {
  /** The WAL's size before the open. */
  walBytes: number
  /** The most DuckDB can have replayed. */
  replayedAtMost: number
  /** Where the WAL as found was copied, before the next commit overwrites it. */
  keptAs: string | null
}

/**
 * Compares the WAL DuckDB found (`before` bytes) with what it replayed; null when nothing is missing.
 * Must run right after the open, before the first write, which makes DuckDB rewrite the WAL: the WAL as
 * found is copied beside the store first, for whoever wants to look at what was dropped.
 */
export async function walShortfall (db: Database, storePath: string, before: number, at: Date): Promise<WalShortfall | null> {
  if (before === 0) return null
  const rows = await db.rows('SELECT wal_size FROM pragma_database_size() WHERE database_name = current_database()')
  const replayedAtMost = printedSizeCeiling(String(rows[0]?.[0] ?? ''))
  if (replayedAtMost === undefined || before <= replayedAtMost) return null
  const keptAs = `${storePath}.wal.dropped-${at.toISOString().replace(/[-:]/g, '').replace('.', '')}`
  try {
    copyFileSync(`${storePath}.wal`, keptAs)
  } catch {
    return { walBytes: before, replayedAtMost, keptAs: null }
  }
  return { walBytes: before, replayedAtMost, keptAs }
}

/** The warning for the log and the start-up report. */
export function walShortfallWarning (s: WalShortfall): string {
  const kept = s.keptAs === null ? 'it could not be copied aside' : `it is kept as ${s.keptAs}`
  return `DuckDB did not replay the whole WAL when it opened the store: it held ${s.walBytes} bytes and at most ${s.replayedAtMost} were replayed, so commits after the last checkpoint may be missing (acknowledged writes among them). The service goes on with what was replayed; ${kept}. Compare with the newest backup and restore it if writes are missing`
}
