/**
 * Free space on the volume. The store's WAL needs room for every commit; a backup, an export or a buffer
 * that fills the disk makes every write 503 until space returns. So work that is not a write keeps a
 * reserve free (DISK_RESERVE_BYTES): it is refused before it starts when it would leave less, and stopped
 * when the free space falls under it while it runs. A write that hits a full disk anyway is a 503
 * `disk_full` with Retry-After, never a 500.
 */
import { statfs } from 'node:fs/promises'
import { DomainError } from './errors.js'

const MIB = 1024 * 1024
// How often a running export or backup looks at the free space: a few MB of writes between looks at most.
const WATCH_MS = 100

export const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`

/** Bytes an unprivileged process may still write under `dir`. */
export async function freeBytes (dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

/** An error that means the disk (or the quota) is full: Node's ENOSPC/EDQUOT, or DuckDB's IO error saying so. */
export function isDiskFull (err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false
  const { code, message } = err as { code?: unknown, message?: unknown }
  return code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|Disk quota exceeded|max_temp_directory_size/i.test(String(message))
}

export const diskFull = (detail: string): DomainError => new DomainError('disk_full', detail)

/** The error to answer for `err`: a full disk becomes 503 `disk_full` naming `what`; anything else is itself. */
export function orDiskFull (err: unknown, what: string): unknown {
  return isDiskFull(err) ? diskFull(`the disk is full: ${what} could not be written; nothing was kept`) : err
}

export class DiskReserve {
  readonly #dir: string
  readonly #reserve: number

  /** `reserve`: bytes that must stay free for the store under `dir`. */
  constructor (dir: string, reserve: number) {
    this.#dir = dir
    this.#reserve = reserve
  }

  /** Resolves with the bytes `what` may use (free space above the reserve), at least `need`; else 503 `disk_full`. */
  async require (need: number, what: string): Promise<number> {
    const free = await freeBytes(this.#dir)
    if (free - need < this.#reserve) {
      throw diskFull(`${what} needs about ${mib(need)} and ${mib(free)} is free; ${mib(this.#reserve)} (DISK_RESERVE_BYTES) stays free for the store`)
    }
    return free - this.#reserve
  }

  /** Whether the free space is under the reserve now. */
  async low (): Promise<boolean> {
    return await freeBytes(this.#dir) < this.#reserve
  }

  /**
   * Calls `onLow` once, as soon as the free space falls under the reserve (looked at every 100 ms, for work
   * that cannot look itself: a long DuckDB statement); `stop()` ends the watch. The running work must then
   * stop and remove what it wrote.
   */
  watch (onLow: () => void): { stop: () => void, readonly low: boolean } {
    let low = false
    let busy = false
    const timer = setInterval(() => {
      if (busy || low) return
      busy = true
      freeBytes(this.#dir).then((free) => {
        if (free < this.#reserve && !low) {
          low = true
          onLow()
        }
      }, () => {}).finally(() => { busy = false })
    }, WATCH_MS)
    timer.unref()
    return { stop: () => clearInterval(timer), get low () { return low } }
  }
}
