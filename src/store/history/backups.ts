/**
 * Online backups of the store into `$DATA_DIR/backups/<name>/`: `db.duckdb`, a self-contained DuckDB file,
 * and `manifest.json`. The store is copied while the service writes (snapshot.ts: everything acknowledged
 * before the call); the copy is then attached to the analytics instance, which replays its WAL, and
 * checkpointed into one file there: the store's own instance and its memory are never used for it. A backup
 * needs free space for a copy of the store above DISK_RESERVE_BYTES before it starts, and is stopped and
 * removed if the free space falls under the reserve while it runs (503 `disk_full`), so it never takes the
 * room the store's WAL needs.
 */
import { lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DuckDBConnection } from '@duckdb/node-api'
import { decodeCursor, encodeCursor, invalidCursor } from '../core/cursor.js'
import { diskFull, orDiskFull, type DiskReserve } from '../core/disk.js'
import { DomainError, exists, invalidName, notFound } from '../core/errors.js'
import { PageBudget } from '../core/page-budget.js'
import { inside } from '../core/paths.js'
import { assertDescriptors, DESCRIPTOR_COSTS } from '../core/descriptors.js'
import { folderState } from '../core/volume-folder.js'
import { isSegment } from '../workspaces/model.js'
import type { Analytics } from './analytics.js'
import type { Lane } from './lane.js'
import type { BackupInfo } from './model.js'
import { copyStore, storeBytes } from './snapshot.js'
import { RUN_HISTORY } from './table.js'

export const BACKUP_FILE = 'db.duckdb'
const MANIFEST = 'manifest.json'
// An interrupted backup leaves this folder; start-up removes it. The dot keeps it out of every listing.
const PARTIAL = '.partial-'
// A manifest is a few hundred bytes; a bigger file is not ours and is not read.
const MANIFEST_MAX_BYTES = 64 * 1024

export const backupsDir = (dataDir: string): string => join(dataDir, 'backups')

/** `<name>/db.duckdb` under the backups folder; the name must be a plain segment. */
export function backupFile (dataDir: string, name: string): string {
  if (!isSegment(name)) throw invalidName(`backup name ${JSON.stringify(name)} must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
  return inside(backupsDir(dataDir), name, BACKUP_FILE)
}

async function fsyncPath (path: string): Promise<void> {
  const handle = await open(path, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

/** Newest first, then by name (descending): the order of the list and of its cursor. */
const newestFirst = (a: Pick<BackupInfo, 'created_at' | 'name'>, b: Pick<BackupInfo, 'created_at' | 'name'>): number =>
  b.created_at.localeCompare(a.created_at) || b.name.localeCompare(a.name)

const defaultName = (at: Date): string => 'backup-' + at.toISOString().replace(/[-:]/g, '').replace('.', '')

async function scalarRow (conn: DuckDBConnection, sql: string): Promise<unknown[]> {
  return (await conn.runAndReadAll(sql)).getRowsJS()[0] as unknown[]
}

export class Backups {
  readonly #dataDir: string
  readonly #keep: number
  readonly #lane: Lane
  readonly #analytics: Analytics
  readonly #reserve: DiskReserve
  readonly #clock: () => Date
  #creating = false

  constructor (deps: { dataDir: string, keep: number, lane: Lane, analytics: Analytics, reserve: DiskReserve, clock: () => Date }) {
    this.#dataDir = deps.dataDir
    this.#keep = deps.keep
    this.#lane = deps.lane
    this.#analytics = deps.analytics
    this.#reserve = deps.reserve
    this.#clock = deps.clock
  }

  get #dir (): string { return backupsDir(this.#dataDir) }

  /** Takes a backup named `name` (default `backup-<UTC time>`), then removes the oldest beyond BACKUP_KEEP. */
  async create (name?: string): Promise<{ backup: BackupInfo, pruned: string[] }> {
    const at = this.#clock()
    const chosen = name ?? defaultName(at)
    const target = join(backupFile(this.#dataDir, chosen), '..')
    if (this.#creating) throw new DomainError('backup_in_progress', 'a backup is being taken; try again when it is done')
    assertDescriptors(DESCRIPTOR_COSTS.backup, 'a backup')
    this.#creating = true
    const partial = inside(this.#dir, PARTIAL + chosen)
    try {
      await this.#ensureDir()
      if (await lstat(target).then(() => true, () => false)) throw exists(`backup ${chosen} already exists`)
      await rm(partial, { recursive: true, force: true })
      await mkdir(partial)
      const started = performance.now()
      const backup = await this.#lane.run(async (conn, db) => {
        const copyBytes = await storeBytes(this.#dataDir)
        const room = await this.#reserve.require(copyBytes, 'a backup (a copy of the store)')
        const watch = this.#reserve.watch(() => {})
        const checkRoom = async (): Promise<void> => {
          if (watch.low || await this.#reserve.low()) throw diskFull('the free space fell under DISK_RESERVE_BYTES while the backup was taken: it was stopped and removed')
        }
        try {
          const stallMs = await copyStore(conn, db, this.#dataDir, join(partial, BACKUP_FILE))
          await checkRoom()
          const [entries, historyRows, version] = await this.#check(join(partial, BACKUP_FILE), room - copyBytes)
          await checkRoom()
          // Folded into the file by the checkpoint: a WAL left beside it would only be a second copy.
          await rm(join(partial, BACKUP_FILE + '.wal'), { force: true })
          await fsyncPath(join(partial, BACKUP_FILE))
          const bytes = (await lstat(join(partial, BACKUP_FILE))).size
          return { entries, historyRows, version, bytes, stallMs }
        } catch (err) {
          await checkRoom()
          throw err
        } finally {
          watch.stop()
        }
      })
      const info: BackupInfo = {
        name: chosen,
        created_at: at.toISOString(),
        bytes: backup.bytes,
        duration_ms: Math.round(performance.now() - started),
        write_stall_ms: Math.round(backup.stallMs),
        schema_version: backup.version,
        entries: backup.entries,
        history_rows: backup.historyRows
      }
      await writeFile(join(partial, MANIFEST), JSON.stringify(info, null, 2) + '\n')
      await fsyncPath(join(partial, MANIFEST))
      await fsyncPath(partial)
      await rename(partial, target)
      await fsyncPath(this.#dir)
      return { backup: info, pruned: await this.#prune() }
    } catch (err) {
      await rm(partial, { recursive: true, force: true })
      throw orDiskFull(err, 'the backup')
    } finally {
      this.#creating = false
    }
  }

  /**
   * Opens the copy on the analytics instance (replaying its WAL), counts what it holds and checkpoints it
   * into one file: [entries, history rows, schema version].
   */
  async #check (file: string, spillBytes: number): Promise<[number, number, number]> {
    return await this.#analytics.session(spillBytes, async (conn) => {
      await conn.run(`ATTACH '${file.replaceAll("'", "''")}' AS backup_check`)
      try {
        const row = await scalarRow(conn, `SELECT (SELECT count(*) FROM backup_check.entries),
          (SELECT count(*) FROM backup_check.${RUN_HISTORY}), (SELECT max(version) FROM backup_check.schema_migrations)`)
        await conn.run('CHECKPOINT backup_check')
        return [Number(row[0]), Number(row[1]), Number(row[2])]
      } finally {
        await conn.run('DETACH backup_check')
      }
    })
  }

  /** The backups folder, created when missing; a symlink or a file in its place is refused, never followed. */
  async #ensureDir (): Promise<void> {
    await mkdir(this.#dir, { recursive: true })
    const stat = await lstat(this.#dir)
    if (!stat.isDirectory()) throw new DomainError('backups_folder_invalid', 'backups/ under the data folder is not a plain folder (a symlink or a file?); backups are not written through it')
  }

  /**
   * A page of backups, newest first, within `limit` and `maxBytes` (at least one); the cursor names the
   * last one's place in that order, so a page resumes there even once that backup is removed.
   */
  async page (limit: number, cursor: string | undefined, maxBytes: number): Promise<{ items: BackupInfo[], next_cursor: string | null }> {
    const after = decodeCursor(cursor)
    let from: [string, string] | undefined
    if (after !== undefined) {
      try { from = JSON.parse(after) as [string, string] } catch {}
      if (!Array.isArray(from) || typeof from[0] !== 'string' || typeof from[1] !== 'string') throw invalidCursor()
    }
    const all = await this.list()
    const start = from === undefined ? 0 : all.findIndex((b) => newestFirst(b, { created_at: from[0], name: from[1] }) > 0)
    const page = new PageBudget<BackupInfo>(limit, maxBytes, (b) => Buffer.byteLength(JSON.stringify(b)))
    let more = false
    for (const b of start < 0 ? [] : all.slice(start)) if (!page.offer(b)) { more = true; break }
    const last = page.items[page.items.length - 1]
    return { items: page.items, next_cursor: more && last !== undefined ? encodeCursor(JSON.stringify([last.created_at, last.name])) : null }
  }

  /** Every backup, newest first: plain folders with a readable manifest; anything else in the folder is ignored. */
  async list (): Promise<BackupInfo[]> {
    let names: string[]
    try {
      const stat = await lstat(this.#dir)
      if (!stat.isDirectory()) return []
      names = (await readdir(this.#dir, { withFileTypes: true })).filter((d) => d.isDirectory() && isSegment(d.name)).map((d) => d.name)
    } catch {
      return []
    }
    const found = await Promise.all(names.map((n) => this.#read(n)))
    return found.filter((b): b is BackupInfo => b !== null).sort(newestFirst)
  }

  async #read (name: string): Promise<BackupInfo | null> {
    // Through a link (the folder or the backup's own) a delete would remove what lies elsewhere: never followed.
    if (folderState(this.#dir) !== 'folder' || folderState(join(this.#dir, name)) !== 'folder') return null
    try {
      const path = join(this.#dir, name, MANIFEST)
      const stat = await lstat(path)
      if (!stat.isFile() || stat.size > MANIFEST_MAX_BYTES) return null
      const info = JSON.parse(await readFile(path, 'utf8')) as BackupInfo
      return info.name === name && typeof info.created_at === 'string' ? info : null
    } catch {
      return null
    }
  }

  /** Removes one backup; 404 unless it is one `list` shows. */
  async remove (name: string): Promise<void> {
    const dir = join(backupFile(this.#dataDir, name), '..')
    if (await this.#read(name) === null) throw notFound(`backup ${name}`)
    await rm(dir, { recursive: true, force: true })
  }

  async #prune (): Promise<string[]> {
    const old = (await this.list()).slice(this.#keep).map((b) => b.name)
    for (const name of old) await this.remove(name)
    return old
  }

  /** Removes what an interrupted backup left (start-up). */
  async clean (): Promise<void> {
    if (folderState(this.#dir) !== 'folder') return
    const entries = await readdir(this.#dir, { withFileTypes: true }).catch(() => [])
    for (const d of entries) if (d.isDirectory() && d.name.startsWith(PARTIAL)) await rm(join(this.#dir, d.name), { recursive: true, force: true })
  }
}
