/**
 * The quarantine folder (`.core/state/quarantine/`): buffer files orphan recovery could not read, kept for
 * an operator to look at. Kept within QUARANTINE_KEEP: the newest files stay, older ones are removed.
 */
import { lstat, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { folderEntries } from './paths.js'

export const QUARANTINE = 'quarantine'
const EXT = '.duckdb'
const WAL = '.wal'

/** A quarantined database and its WAL, which come and go together, under the database's name. */
interface Held {
  name: string
  files: string[]
  /** When it was moved here: a rename sets ctime, and nothing else we do touches these files. */
  movedAt: number
}

/**
 * Removes all but the `keep` most recently quarantined databases (with their WALs) from `dir`'s quarantine
 * folder, and answers the names removed. Only `*.duckdb` and `*.duckdb.wal` entries are counted or touched;
 * anything else someone put there is left alone.
 */
export async function pruneQuarantine (dir: string, keep: number): Promise<string[]> {
  const qdir = join(dir, QUARANTINE)
  const entries = await folderEntries(qdir)
  const held = new Map<string, Held>()
  for (const e of entries) {
    if (e.isDirectory()) continue
    const name = e.name.endsWith(EXT + WAL) ? e.name.slice(0, -WAL.length) : e.name
    if (!name.endsWith(EXT)) continue
    const at = (await lstat(join(qdir, e.name)).catch(() => null))?.ctimeMs ?? 0
    const h = held.get(name) ?? { name, files: [], movedAt: 0 }
    h.files.push(e.name)
    h.movedAt = Math.max(h.movedAt, at)
    held.set(name, h)
  }
  if (held.size <= keep) return []
  // Newest first; a tie (one recovery pass moves files within the same clock tick) goes by name.
  const order = [...held.values()].sort((a, b) => b.movedAt - a.movedAt || (a.name < b.name ? -1 : 1))
  const removed: string[] = []
  for (const h of order.slice(keep)) {
    await Promise.all(h.files.map((f) => rm(join(qdir, f), { force: true })))
    removed.push(h.name)
  }
  return removed
}
