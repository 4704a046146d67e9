/**
 * The log's files: `.core/log/<segment>-<first commit>.log`, numbered in the order they were made. The
 * first commit in the name says where a segment starts even when it holds no whole record, which is what
 * replay needs to tell an abandoned write (the next segment starts at that commit) from lost records.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

export interface Segment {
  /** Its place in the order the segments were made. */
  no: number
  /** The commit its first record carries (or would have carried: a segment can be empty). */
  firstCommit: number
  name: string
  path: string
}

const NAME = /^(\d{10})-(\d{20})\.log$/

export function logDir (dataDir: string): string {
  return join(dataDir, '.core', 'log')
}

export function segmentName (no: number, firstCommit: number): string {
  return `${String(no).padStart(10, '0')}-${String(firstCommit).padStart(20, '0')}.log`
}

/**
 * The segments in `dir`, oldest first. Only regular files with a segment's name count: anything else
 * there (a folder of damaged segments, a stray file, a link) is not the log's and is left alone.
 */
export function listSegments (dir: string): Segment[] {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const segments: Segment[] = []
  for (const e of entries) {
    const m = NAME.exec(e.name)
    if (m === null || !e.isFile()) continue
    segments.push({ no: Number(m[1]), firstCommit: Number(m[2]), name: e.name, path: join(dir, e.name) })
  }
  return segments.sort((a, b) => a.no - b.no)
}
