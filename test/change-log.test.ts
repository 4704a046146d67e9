/**
 * The change log on real files (issue 23): records written by the log itself, then cut, flipped, removed
 * or abandoned as a crash, a bad disk or a failed flush leaves them, and read back by replay. A torn tail
 * is cut and reported; damage stops replay before it and moves the rest aside, never skipped silently.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { Logger } from '../src/store/core/logger.js'
import { ChangeLog } from '../src/store/log/change-log.js'
import { decodeChanges, encodeChanges, type LoggedChange } from '../src/store/log/codec.js'
import { HEADER_BYTES, readRecord } from '../src/store/log/frame.js'
import { replayLog } from '../src/store/log/replay.js'
import { listSegments, segmentName } from '../src/store/log/segments.js'

const AT = '2026-11-01T10:00:00.000Z'
const quiet: Logger = { debug () {}, info () {}, warn () {}, error () {} }

const change = (c: number): LoggedChange => ({
  source: `change ${c}`,
  entries: [{ grp: 'registry', key: `o/r/w${c}`, value: JSON.stringify({ c, task: 'x'.repeat(40) }), updatedAt: AT }],
  appends: []
})

/** A log of `commits` commits in `dataDir/.core/log`, rolling at `segmentBytes`; returns its folder. */
async function writeLog (dataDir: string, commits: number, segmentBytes = 1 << 20, from = 1): Promise<string> {
  const dir = join(dataDir, '.core', 'log')
  const log = new ChangeLog(dir, segmentBytes)
  log.start(listSegments(dir).map((s) => ({ no: s.no, path: s.path, last: Number.MAX_SAFE_INTEGER })), listSegments(dir).reduce((n, s) => Math.max(n, s.no), 0))
  for (let c = from; c < from + commits; c++) await log.append(c, encodeChanges([change(c)]))
  await log.close()
  return dir
}

async function replay (dataDir: string, folded = 0) {
  const commits: number[] = []
  const keys: string[] = []
  const result = await replayLog({
    dir: join(dataDir, '.core', 'log'),
    dataDir,
    folded,
    now: new Date(AT),
    log: quiet,
    apply: async (cs) => {
      for (const c of cs) {
        commits.push(c.commit)
        for (const ch of c.changes) keys.push(...ch.entries.map((e) => e.key))
      }
    }
  })
  return { ...result, commits }
}

/** Offsets of the records in a segment file. */
function recordOffsets (path: string): number[] {
  const buf = readFileSync(path)
  const offsets: number[] = []
  for (let at = 0; at < buf.length;) {
    const r = readRecord(buf, at)
    if (!r.ok) break
    offsets.push(at)
    at = r.end
  }
  return offsets
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i)

t.test('the codec gives back every change as it was staged', async (t) => {
  const changes: LoggedChange[] = [
    { source: undefined, entries: [{ grp: 'registry', key: 'o/r/ü-名', value: '{"task":"emoji 🚀 and a \\"quote\\""}', updatedAt: AT }, { grp: 'queue', key: 'o/r/w', value: null, updatedAt: AT }], appends: [] },
    { source: 'reaper: workspace o/r/w', entries: [], appends: [{ table: 'run_history', row: { runs: 3, outcome: 'reaped', reap_reason: null } }, { table: 'run_history', row: { runs: 3, outcome: 'completed' }, replaces: { runs: 3, outcome: 'reaped' } }] }
  ]
  const record = encodeChanges(changes)
  t.same(decodeChanges(record.subarray(HEADER_BYTES)), changes)
})

t.test('a whole log replays every commit past the folded one, in order, across segments', async (t) => {
  const dataDir = t.testdir()
  await writeLog(dataDir, 40, 1024)
  t.ok(listSegments(join(dataDir, '.core', 'log')).length > 3, 'the log rolled into several segments')
  const all = await replay(dataDir)
  t.same(all.commits, range(1, 40))
  t.match(all.report, { replayed: 40, changes: 40, last_commit: 40, torn: null, damaged: null })
  const past = await replay(dataDir, 25)
  t.same(past.commits, range(26, 40), 'commits the store holds are skipped')
  t.equal(past.report.last_commit, 40)
})

t.test('a torn last record (a write a crash cut short) is cut off, logged in the report, and the rest replayed', async (t) => {
  const dataDir = t.testdir()
  const dir = await writeLog(dataDir, 12)
  const [seg] = listSegments(dir)
  const offsets = recordOffsets(seg!.path)
  const size = statSync(seg!.path).size
  const cutAt = offsets[11]! + HEADER_BYTES + 10
  truncateSync(seg!.path, cutAt)

  const first = await replay(dataDir)
  t.same(first.commits, range(1, 11), 'every whole record is replayed')
  t.same(first.report.torn, { segment: seg!.name, offset: offsets[11], bytes: cutAt - offsets[11]!, reason: 'short_record' })
  t.equal(first.report.damaged, null)
  t.equal(statSync(seg!.path).size, offsets[11], 'the segment is cut back to its last whole record')
  t.ok(size > cutAt)

  const second = await replay(dataDir)
  t.equal(second.report.torn, null, 'nothing left to cut')
  t.same(second.commits, range(1, 11))

  // A few bytes of a header only.
  truncateSync(seg!.path, offsets[10]! + 7)
  const third = await replay(dataDir)
  t.match(third.report.torn, { offset: offsets[10], bytes: 7, reason: 'short_header' })
  t.same(third.commits, range(1, 10))
})

t.test('a last record that is long enough but fails its checksum is the cut-short write too', async (t) => {
  const dataDir = t.testdir()
  const dir = await writeLog(dataDir, 5)
  const [seg] = listSegments(dir)
  const offsets = recordOffsets(seg!.path)
  const buf = readFileSync(seg!.path)
  buf[offsets[4]! + HEADER_BYTES + 3]! ^= 0xff
  writeFileSync(seg!.path, buf)
  const r = await replay(dataDir)
  t.same(r.commits, range(1, 4))
  t.match(r.report.torn, { offset: offsets[4], reason: 'bad_checksum' })
})

t.test('a flipped byte mid-segment stops replay there: reported, the rest moved aside unchanged, never skipped', async (t) => {
  const dataDir = t.testdir()
  const dir = await writeLog(dataDir, 30, 2048)
  const segments = listSegments(dir)
  t.ok(segments.length >= 3)
  const target = segments[segments.length - 1]!
  const offsets = recordOffsets(target.path)
  t.ok(offsets.length >= 3, 'the last segment holds records after the damaged one')
  const buf = readFileSync(target.path)
  buf[offsets[1]! + HEADER_BYTES + 5]! ^= 0x01
  writeFileSync(target.path, buf)
  const before = Buffer.from(buf)

  const r = await replay(dataDir)
  const lastGood = target.firstCommit
  t.same(r.commits, range(1, lastGood), 'replay stops before the damaged record')
  t.match(r.report.damaged, { segment: target.name, offset: offsets[1], reason: 'bad_checksum', last_commit: lastGood, segments: [target.name] })
  t.equal(r.report.torn, null, 'damage is not a torn tail')
  t.equal(r.report.last_commit, lastGood, 'new commits follow the last one replayed')
  const moved = join(dataDir, r.report.damaged!.moved_to)
  t.ok(r.report.damaged!.moved_to.startsWith('.core/log/damaged-'))
  t.same(readFileSync(join(moved, target.name)), before, 'the damaged segment is kept, unchanged')
  t.notOk(existsSync(target.path), 'and is no longer part of the log')
  t.same(listSegments(dir).map((s) => s.name), segments.slice(0, -1).map((s) => s.name))
})

t.test('damage in an older segment moves it and every later segment aside', async (t) => {
  const dataDir = t.testdir()
  const dir = await writeLog(dataDir, 30, 2048)
  const segments = listSegments(dir)
  const target = segments[1]!
  const buf = readFileSync(target.path)
  // The header's length: its own checksum catches it, and the length is never trusted.
  buf[recordOffsets(target.path)[1]! + 5]! ^= 0x40
  writeFileSync(target.path, buf)
  const r = await replay(dataDir)
  t.same(r.commits, range(1, target.firstCommit))
  t.match(r.report.damaged, { segment: target.name, reason: 'bad_header', segments: segments.slice(1).map((s) => s.name) })
  t.same(listSegments(dir).map((s) => s.name), [segments[0]!.name])
})

t.test('damage the store has folded already does not matter', async (t) => {
  const dataDir = t.testdir()
  const dir = await writeLog(dataDir, 30, 2048)
  const segments = listSegments(dir)
  const buf = readFileSync(segments[0]!.path)
  buf[recordOffsets(segments[0]!.path)[1]! + HEADER_BYTES]! ^= 0x01
  writeFileSync(segments[0]!.path, buf)
  const r = await replay(dataDir, segments[1]!.firstCommit - 1)
  t.equal(r.report.damaged, null)
  t.same(r.commits, range(segments[1]!.firstCommit, 30))
})

t.test('a write abandoned after a failed flush and written again in the next segment is not damage', async (t) => {
  const dataDir = t.testdir()
  const dir = join(dataDir, '.core', 'log')
  await writeLog(dataDir, 4)
  const [first] = listSegments(dir)
  // Commit 5 was written whole to the first segment but its flush failed; the writer abandoned the
  // segment and wrote commit 5 again, with what was staged since, at the start of a new one.
  const abandoned = encodeChanges([change(5)])
  const log = new ChangeLog(dir, 1 << 20)
  log.start([{ no: first!.no, path: first!.path, last: 4 }], first!.no)
  await log.append(5, abandoned)
  await log.close()
  const [, second] = listSegments(dir)
  const tail = readFileSync(second!.path)
  writeFileSync(first!.path, Buffer.concat([readFileSync(first!.path), tail, tail.subarray(0, 30)]))
  rmSync(second!.path)
  const again = new ChangeLog(dir, 1 << 20)
  again.start([], 10)
  await again.append(5, encodeChanges([{ ...change(5), entries: [...change(5).entries, { grp: 'registry', key: 'o/r/later', value: '{}', updatedAt: AT }] }]))
  await again.append(6, encodeChanges([change(6)]))
  await again.close()

  const keys: string[] = []
  const r = await replayLog({
    dir,
    dataDir,
    folded: 0,
    now: new Date(AT),
    log: quiet,
    apply: async (cs) => { for (const c of cs) for (const ch of c.changes) keys.push(...ch.entries.map((e) => e.key)) }
  })
  t.match(r.report, { replayed: 6, torn: null, damaged: null })
  t.same(keys, ['o/r/w1', 'o/r/w2', 'o/r/w3', 'o/r/w4', 'o/r/w5', 'o/r/later', 'o/r/w6'], 'commit 5 comes from the segment it was written to again')
})

t.test('a missing segment is a gap: replay stops before it', async (t) => {
  const dataDir = t.testdir()
  const dir = await writeLog(dataDir, 30, 2048)
  const segments = listSegments(dir)
  rmSync(segments[1]!.path)
  const r = await replay(dataDir)
  t.same(r.commits, range(1, segments[1]!.firstCommit - 1))
  t.match(r.report.damaged, { segment: segments[0]!.name, reason: 'missing_commits' })

  // A store that does not reach the log (a store file replaced by an empty one) is the same gap.
  const fresh = t.testdir()
  await writeLog(fresh, 3, 1 << 20, 50)
  const g = await replay(fresh)
  t.same(g.commits, [])
  t.match(g.report.damaged, { reason: 'missing_commits', last_commit: 0 })
})

t.test('retiring deletes only segments the store holds, never the one being written', async (t) => {
  const dataDir = t.testdir()
  const dir = join(dataDir, '.core', 'log')
  const log = new ChangeLog(dir, 1024)
  log.start([], 0)
  for (let c = 1; c <= 30; c++) await log.append(c, encodeChanges([change(c)]))
  const before = listSegments(dir)
  await log.retire(before[2]!.firstCommit - 1)
  t.same(listSegments(dir).map((s) => s.name), before.slice(2).map((s) => s.name), 'the two folded segments are gone')
  await log.retire(30)
  t.same(listSegments(dir).map((s) => s.name), [before.at(-1)!.name], 'the segment being written stays')
  await log.retire(30, true)
  await log.close()
  t.same(readdirSync(dir), [], 'closing, a folded log is deleted whole')
  t.equal(segmentName(3, 42), '0000000003-00000000000000000042.log')
})
