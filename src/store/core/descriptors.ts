/**
 * File descriptors are one table per process, shared by client connections, DuckDB's files and the
 * volume's files. DuckDB does not survive running out: a store or buffer that cannot open its WAL
 * aborts the whole process (SIGABRT, measured with 233 idle connections under `ulimit -n 256`). So the
 * HTTP server caps connections below the limit (boot/connections.ts), and what opens files on a
 * client's request (a buffer, an export, a backup) first checks that enough stay free for the store.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { DomainError } from './errors.js'

/** What each kind of work may hold at once, and what must stay free for everything unchecked. */
export const DESCRIPTOR_COSTS = {
  /** A buffer: its database and WAL, and a spill file when its commit sorts more than its memory. */
  buffer: 3,
  /** An export: the file DuckDB writes, the stream that reads it back, a spill file. */
  export: 4,
  /** A backup: the two sides of the copy, then the copy attached with its WAL, a spill file. */
  backup: 6,
  /**
   * Never handed out: the store's WAL (re)opened after a checkpoint and its spill files, status.json
   * rewrites (StatusFiles runs at most 16 at once), agents.yaml, the sync flusher's sockets, and a
   * connection accepted only to be closed past the cap.
   */
  headroom: 64
} as const

/** Open files at once besides connections when every bound is reached: buffers, two exports, a backup and the headroom. */
export function fileReserve (buffersOpen: number): number {
  const c = DESCRIPTOR_COSTS
  return c.headroom + c.buffer * buffersOpen + 2 * c.export + c.backup
}

/** The soft RLIMIT_NOFILE, the one that applies (Infinity when unlimited or not readable, as off Linux). */
export function parseOpenFilesLimit (limits: string): number {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1]
  const n = Number(soft)
  return soft === undefined || !Number.isSafeInteger(n) || n <= 0 ? Infinity : n
}

let limit: number | undefined

/** This process's descriptor limit, read once: `ulimit -n` is fixed before the process starts. */
export function descriptorLimit (): number {
  if (limit === undefined) {
    try {
      limit = parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'))
    } catch {
      limit = Infinity
    }
  }
  return limit
}

/** Descriptors open now, or undefined where /proc is not there (the listing's own descriptor is not counted). */
export function descriptorsOpen (): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1
  } catch {
    return undefined
  }
}

/**
 * Refuses work that would open `cost` descriptors unless the headroom stays free after it: a 503
 * `descriptors_low` with Retry-After, before anything is opened. Off Linux nothing is checked.
 */
export function assertDescriptors (cost: number, what: string): void {
  const max = descriptorLimit()
  if (max === Infinity) return
  const open = descriptorsOpen()
  if (open === undefined) return
  if (open + cost + DESCRIPTOR_COSTS.headroom > max) {
    throw new DomainError('descriptors_low', `${open} of ${max} file descriptors are in use; ${what} is refused to keep the store's own files open. Retry when connections or buffers are closed`)
  }
}
