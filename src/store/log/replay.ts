/**
 * Start-up: the log read back past the store's last folded commit, segment by segment, oldest first.
 * Every record must be whole and follow the one before it by one commit. Where a segment stops short:
 *
 * - the newest segment, with no whole header after the spot: the last write, cut short by a crash and
 *   never acknowledged (a flush precedes every answer). It is cut off, logged and reported (`torn`).
 * - an older segment whose successor starts at the next commit: a write abandoned after a failed write or
 *   flush and written again in the successor (change-log.ts). Its bytes are ignored, and so is any record
 *   in it from that commit on.
 * - anything else (a bad record with records after it, a gap in the numbers): damage. Replay stops there,
 *   since what follows may depend on what was lost, and that segment and every later one are moved,
 *   unchanged, into a `damaged-<time>` folder beside them for an operator (`damaged`). The service goes on
 *   from the last commit replayed. Bytes before the store's folded commit never matter: DuckDB has them.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { Logger } from '../core/logger.js'
import type { LiveSegment } from './change-log.js'
import { syncFolder } from './change-log.js'
import { decodeChanges, type LoggedChange } from './codec.js'
import { findHeaderAfter, readRecord } from './frame.js'
import { emptyLogRecovery, type LogRecovery } from './model.js'
import { listSegments, type Segment } from './segments.js'

/** One commit read back from the log. */
export interface LoggedCommit {
  commit: number
  changes: LoggedChange[]
}

export interface Replayed {
  report: LogRecovery
  /** The segments still in the log folder (all folded once `apply` has run): the log retires them. */
  left: LiveSegment[]
  /** The highest segment number seen: new segments are numbered after it. */
  lastNo: number
}

interface Stop { at: number, reason: string }

/**
 * Reads the log in `dir` and hands every commit past `folded` to `apply`, one segment's worth at a time,
 * in order. `dataDir` makes the reported paths relative; `now` names a folder of damaged segments.
 */
export async function replayLog (opts: {
  dir: string
  dataDir: string
  folded: number
  now: Date
  log: Logger
  apply: (commits: LoggedCommit[]) => Promise<void>
}): Promise<Replayed> {
  const { dir, folded, log } = opts
  const segments = listSegments(dir)
  const report = emptyLogRecovery()
  report.folded_commit = folded
  report.segments = segments.length
  const left: LiveSegment[] = []
  // The next commit replay needs: commits up to `folded` are in the store already.
  let expected = folded + 1
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as Segment
    const next = segments[i + 1]
    const buf = await readFile(seg.path)
    const commits: LoggedCommit[] = []
    let prev = seg.firstCommit - 1
    let at = 0
    let stop: Stop | null = null
    let damaged: Stop | null = null
    while (at < buf.length) {
      const r = readRecord(buf, at)
      if (!r.ok) { stop = { at, reason: r.reason }; break }
      if (r.commit !== prev + 1) { damaged = { at, reason: 'out_of_order' }; break }
      // Written here, but its flush failed: the successor holds it (and what followed) again.
      if (next !== undefined && r.commit >= next.firstCommit) break
      if (r.commit > folded) {
        if (r.commit !== expected) { damaged = { at, reason: 'missing_commits' }; break }
        let changes: LoggedChange[]
        try {
          changes = decodeChanges(r.payload)
        } catch {
          damaged = { at, reason: 'undecodable' }
          break
        }
        commits.push({ commit: r.commit, changes })
        expected++
      }
      prev = r.commit
      at = r.end
    }
    // Where this segment ends short of its successor's first commit, commits are missing, unless the store has them.
    const joins = next === undefined || next.firstCommit === prev + 1 || next.firstCommit - 1 <= folded
    if (damaged === null && stop !== null) {
      if (next === undefined) {
        if (findHeaderAfter(buf, stop.at) < 0) report.torn = await cutTail(seg, stop, buf.length, log)
        else damaged = stop
      } else if (!joins) {
        damaged = stop
      }
    } else if (damaged === null && !joins) {
      damaged = { at: buf.length, reason: 'missing_commits' }
    }
    await opts.apply(commits)
    report.replayed += commits.length
    for (const c of commits) report.changes += c.changes.length
    if (damaged !== null) {
      report.damaged = await moveAside(segments.slice(i), damaged, seg, expected - 1, opts)
      break
    }
    left.push({ no: seg.no, path: seg.path, last: prev })
  }
  report.last_commit = Math.max(folded, expected - 1)
  return { report, left, lastNo: segments.reduce((n, s) => Math.max(n, s.no), 0) }
}

/** Cuts the newest segment back to its last whole record, durably. */
async function cutTail (seg: Segment, stop: Stop, size: number, log: Logger): Promise<LogRecovery['torn']> {
  const file = await open(seg.path, 'r+')
  try {
    await file.truncate(stop.at)
    await file.sync()
  } finally {
    await file.close()
  }
  const torn = { segment: seg.name, offset: stop.at, bytes: size - stop.at, reason: stop.reason }
  log.warn({ ...torn }, 'the change log ended in a write a crash cut short (never acknowledged): cut off')
  return torn
}

/** Moves `segments` (the damaged one first) into a new folder beside them, unchanged. */
async function moveAside (segments: Segment[], stop: Stop, seg: Segment, lastCommit: number, opts: { dir: string, dataDir: string, now: Date, log: Logger }): Promise<LogRecovery['damaged']> {
  const folder = join(opts.dir, `damaged-${opts.now.toISOString().replace(/[:.]/g, '-')}`)
  await mkdir(folder, { recursive: true })
  for (const s of segments) await rename(s.path, join(folder, s.name))
  await syncFolder(opts.dir)
  const damaged = {
    segment: seg.name,
    offset: stop.at,
    reason: stop.reason,
    last_commit: lastCommit,
    moved_to: relative(opts.dataDir, folder),
    segments: segments.map((s) => s.name)
  }
  opts.log.error({ ...damaged }, 'the change log is damaged: replay stopped before the damage; the segments from there on were moved aside, unchanged, and the service continues from the last commit replayed')
  return damaged
}
