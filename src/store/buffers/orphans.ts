/**
 * Orphan recovery (API §8.3): every buffer file under `.core/state/` at start-up was left by an earlier
 * process. It is deleted when its commit marker exists, moved to `quarantine/` when it cannot be read
 * as a buffer, and otherwise discarded: never committed, so a partial cycle never enters the journal.
 */
import type { Dirent } from 'node:fs'
import { lstat, mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { aggregateSql, BUFFER_DB, removeBufferFiles } from './buffer-file.js'
import { Database } from '../core/database.js'
import type { OrphanOutcome } from '../startup/report.js'
import { toAggregate } from '../core/rows.js'
import { folderEntries } from './paths.js'
import { QUARANTINE } from './quarantine.js'

const EXT = '.duckdb'
const WAL = `${EXT}.wal`

// The prober replays other programs' WALs too (go-store keeps up to 16 MB of WAL), so it gets more room than a buffer.
const PROBE_DB = { ...BUFFER_DB, memoryLimit: '128MB' }

// Two probers overlap one file's DuckDB work with another's file-system work: ~1.8× one prober on 2 cores.
const PROBERS = 2

/** "3 entries (build 1, finding 2)": what a discarded orphan held, for the report and the log. */
function describe (aggregate: Record<string, number>): string {
  const kinds = Object.entries(aggregate)
  const total = kinds.reduce((n, [, c]) => n + c, 0)
  const noun = total === 1 ? 'entry' : 'entries'
  return kinds.length === 0 ? `0 ${noun}` : `${total} ${noun} (${kinds.map(([k, c]) => `${k} ${c}`).join(', ')})`
}

/**
 * Reads orphans through ATTACH on a scratch in-memory instance: ~5 ms a file, against ~40 ms for an
 * instance of its own. READ_ONLY still replays a WAL left by a crash (in memory), and never changes
 * the file, so a quarantined file is exactly what was found.
 */
class Prober {
  #db: Database | null = null

  /** The aggregate of the orphan at `path`; throws when it is not a DuckDB database or has no buffer table. */
  async aggregate (path: string): Promise<Record<string, number>> {
    this.#db ??= await Database.open(':memory:', PROBE_DB)
    const db = this.#db
    // ATTACH takes no parameters; quotes are doubled, so no file name can end the literal.
    await db.run(`ATTACH '${path.replaceAll("'", "''")}' AS orphan (TYPE DUCKDB, READ_ONLY)`)
    try {
      return toAggregate(await db.rows(aggregateSql('orphan.workspace_entries')))
    } finally {
      await db.run('DETACH orphan')
    }
  }

  async close (): Promise<void> {
    await this.#db?.close({ checkpoint: false })
  }
}

/** One pass over the state folder. */
class Sweep {
  readonly #dir: string
  readonly #committed: ReadonlySet<string>
  // Moves into quarantine/ one at a time: two at once could pick the same free name.
  #moves: Promise<unknown> = Promise.resolve()

  constructor (dir: string, committed: ReadonlySet<string>) {
    this.#dir = dir
    this.#committed = committed
  }

  /** DuckDB's or the file system's message without the folder: the report is read over HTTP and never shows paths. */
  reason (err: unknown): string {
    return (String((err as Error).message ?? err).split('\n')[0] ?? '').replaceAll(`${this.#dir}/`, '')
  }

  /** Decides and carries out the fate of one `*.duckdb` entry. */
  async one (entry: Dirent, prober: Prober): Promise<OrphanOutcome> {
    const file = entry.name
    const path = join(this.#dir, file)
    // A link or a device could lead anywhere: it is moved aside, never opened or followed.
    if (!entry.isFile()) return await this.#quarantine(file, 'not a regular file')
    if (this.#committed.has(file.slice(0, -EXT.length))) {
      await removeBufferFiles(path)
      return { file, outcome: 'deleted_committed', detail: 'its cycle was committed before the crash' }
    }
    let aggregate: Record<string, number>
    try {
      aggregate = await prober.aggregate(path)
    } catch (err) {
      const why = this.reason(err)
      // A live buffer of another program on the same volume (the Go agent): not ours to touch.
      if (/Could not set lock/.test(why)) return { file, outcome: 'left_in_place', detail: `locked by another process: ${why}` }
      return await this.#quarantine(file, why)
    }
    await removeBufferFiles(path)
    return { file, outcome: 'discarded', detail: `partial cycle of ${describe(aggregate)}` }
  }

  /** Moves the file and its WAL to `quarantine/<stem>.duckdb`, or `<stem>.1.duckdb`, `.2`, … (go-store's naming). */
  #quarantine (file: string, why: string): Promise<OrphanOutcome> {
    const move = this.#moves.then(async (): Promise<OrphanOutcome> => {
      const qdir = join(this.#dir, QUARANTINE)
      await mkdir(qdir, { recursive: true })
      const stem = file.slice(0, -EXT.length)
      // A name is taken when the file or its WAL is there.
      const taken = async (name: string) => (await Promise.all([name, `${name}.wal`].map((n) => lstat(join(qdir, n)).then(() => true, () => false)))).some(Boolean)
      let target = `${stem}${EXT}`
      for (let i = 1; await taken(target); i++) target = `${stem}.${i}${EXT}`
      await rename(join(this.#dir, file), join(qdir, target))
      await rename(join(this.#dir, `${file}.wal`), join(qdir, `${target}.wal`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      })
      return { file, outcome: 'quarantined', detail: `moved to ${QUARANTINE}/${target}: ${why}` }
    })
    this.#moves = move.catch(() => {})
    return move
  }
}

/**
 * Recovers every orphan in `dir` (the state folder); `committed` holds the buffer names whose commit
 * marker exists. Outcomes come back in file-name order. A missing folder means no buffer was ever
 * left. A file that cannot be removed or moved is reported `left_in_place`, and start-up goes on.
 */
export async function recoverOrphans (dir: string, committed: ReadonlySet<string>): Promise<OrphanOutcome[]> {
  const entries = await folderEntries(dir)
  const names = new Set(entries.map((e) => e.name))
  const work = entries
    .filter((e) => !e.isDirectory() && (e.name.endsWith(EXT) ||
      // A WAL whose database is gone: a removal cut short. Left there, it would be replayed into a new buffer of that name.
      (e.name.endsWith(WAL) && !names.has(e.name.slice(0, -'.wal'.length)))))
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

  const sweep = new Sweep(dir, committed)
  const outcomes: OrphanOutcome[] = new Array(work.length)
  const probers = Array.from({ length: Math.min(PROBERS, work.length) }, () => new Prober())
  let next = 0
  try {
    await Promise.all(probers.map(async (prober) => {
      for (let i = next++; i < work.length; i = next++) {
        const entry = work[i] as Dirent
        try {
          if (entry.name.endsWith(EXT)) {
            outcomes[i] = await sweep.one(entry, prober)
          } else {
            await rm(join(dir, entry.name), { force: true })
            outcomes[i] = { file: entry.name, outcome: 'discarded', detail: 'a WAL without its database' }
          }
        } catch (err) {
          outcomes[i] = { file: entry.name, outcome: 'left_in_place', detail: `could not be removed or moved: ${sweep.reason(err)}` }
        }
      }
    }))
  } finally {
    await Promise.all(probers.map((p) => p.close()))
  }
  return outcomes
}
