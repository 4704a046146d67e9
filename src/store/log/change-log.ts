/**
 * The durable point of every write: an append-only log of commits under `.core/log/`. A commit is one
 * `write` of one record and one `fdatasync` of the segment, and nothing is acknowledged before both
 * succeeded. Segments roll at a size; a new segment's directory entry is made durable (an fsync of the
 * folder) before a record in it is acknowledged. Folded segments are deleted (`retire`).
 *
 * A failed write or flush abandons the segment for good: after a failed fsync Linux may have dropped the
 * dirty pages and marked them clean, so a second fsync of the same file can succeed without storing
 * anything. The commit is written again, whole, at the start of a new segment; replay knows that a
 * segment's bytes past the first commit of the next one were abandoned (replay.ts).
 */
import { close, constants, fdatasync, fsync, mkdir, mkdirSync, open, unlink, write } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sealRecord } from './frame.js'
import { segmentName } from './segments.js'

const openAsync = promisify(open)
const writeAsync = promisify(write)
const fdatasyncAsync = promisify(fdatasync)
const fsyncAsync = promisify(fsync)
const closeAsync = promisify(close)
const unlinkAsync = promisify(unlink)
const mkdirAsync = promisify(mkdir)

/** Test seams for crash tests: each runs at one point of the log's work. */
export interface LogHooks {
  /** Before a folded segment is deleted. */
  beforeRetire?: (path: string) => void
}

/** A segment this log knows of: one it writes, or one replay left that is not deleted yet. */
export interface LiveSegment {
  no: number
  path: string
  /** The highest commit acknowledged from it (its first commit minus one while it holds none). */
  last: number
}

interface Active extends LiveSegment {
  fd: number
  size: number
}

export class ChangeLog {
  readonly dir: string
  readonly #segmentBytes: number
  readonly #hooks: LogHooks
  /** Every segment still on disk, oldest first; the active one is last. */
  #segments: LiveSegment[] = []
  #active: Active | null = null
  #nextNo = 1
  #retiring: Promise<void> | null = null

  constructor (dir: string, segmentBytes: number, hooks: LogHooks = {}) {
    this.dir = dir
    this.#segmentBytes = segmentBytes
    this.#hooks = hooks
  }

  /** Takes over after replay: `left` are the segments still on disk, and new ones are numbered after `lastNo`. */
  start (left: LiveSegment[], lastNo: number): void {
    mkdirSync(this.dir, { recursive: true })
    this.#segments = [...left]
    this.#nextNo = lastNo + 1
  }

  get segmentCount (): number { return this.#segments.length }

  /**
   * Appends `record` (payload at HEADER_BYTES, header filled in here) as commit `commit`, durably. On
   * failure the segment is abandoned and the error rethrown: nothing of this commit is acknowledged.
   */
  async append (commit: number, record: Buffer): Promise<void> {
    if (this.#active === null || this.#active.size >= this.#segmentBytes) await this.#roll(commit)
    const active = this.#active as Active
    sealRecord(record, commit)
    try {
      const { bytesWritten } = await writeAsync(active.fd, record, 0, record.length, null)
      // A short write on a regular file means the disk filled up mid-record: the rest would fail too.
      if (bytesWritten !== record.length) throw Object.assign(new Error(`short write to ${active.path}: ${bytesWritten} of ${record.length} bytes`), { code: 'ENOSPC' })
      await fdatasyncAsync(active.fd)
    } catch (err) {
      await this.#abandon()
      throw err
    }
    active.size += record.length
    active.last = commit
  }

  /** Starts a new segment for `commit`: the old one is closed, the new one's name made durable in the folder. */
  async #roll (commit: number): Promise<void> {
    const old = this.#active
    this.#active = null
    if (old !== null) await closeAsync(old.fd).catch(() => {})
    const path = join(this.dir, segmentName(this.#nextNo++, commit))
    // The folder was made at start; should it have gone since, the log goes on in a new one.
    await mkdirAsync(this.dir, { recursive: true })
    const fd = await openAsync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
    const active: Active = { no: this.#nextNo - 1, path, last: commit - 1, fd, size: 0 }
    this.#segments.push(active)
    this.#active = active
    try {
      await syncFolder(this.dir)
    } catch (err) {
      await this.#abandon()
      throw err
    }
  }

  /** Never writes to or flushes the active segment again; one that holds no record is deleted. */
  async #abandon (): Promise<void> {
    const active = this.#active
    if (active === null) return
    this.#active = null
    await closeAsync(active.fd).catch(() => {})
    if (active.size === 0) {
      await unlinkAsync(active.path).then(() => {
        this.#segments = this.#segments.filter((s) => s !== active)
      }, () => {})
    }
  }

  /**
   * Deletes the segments DuckDB holds durably (every commit in them ≤ `folded`), oldest first, never the
   * one being written unless `closing`. A segment that cannot be deleted stops the pass; the next one retries.
   */
  retire (folded: number, closing = false): Promise<void> {
    this.#retiring ??= this.#retire(folded, closing).finally(() => { this.#retiring = null })
    return this.#retiring
  }

  async #retire (folded: number, closing: boolean): Promise<void> {
    for (let s = this.#segments[0]; s !== undefined && s.last <= folded; s = this.#segments[0]) {
      if (s === this.#active) {
        if (!closing) return
        this.#active = null
        await closeAsync((s as Active).fd).catch(() => {})
      }
      this.#hooks.beforeRetire?.(s.path)
      try {
        await unlinkAsync(s.path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return
      }
      this.#segments.shift()
    }
  }

  /** Closes the segment being written (on shutdown, after the last fold: `retire(…, true)` deleted it when folded). */
  async close (): Promise<void> {
    await this.#retiring
    const active = this.#active
    this.#active = null
    if (active !== null) await closeAsync(active.fd).catch(() => {})
  }
}

/** Makes the folder's entries durable (a new segment's name, a cut file's length). */
export async function syncFolder (dir: string): Promise<void> {
  const fd = await openAsync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fsyncAsync(fd)
  } finally {
    await closeAsync(fd)
  }
}
