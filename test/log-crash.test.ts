/**
 * The change log under a real service process (issue 23, point 2): a kill -9 inside a fold and during the
 * retirement of a folded segment, a torn last record and a flipped byte mid-segment. After each, the
 * next start has every acknowledged write (and no run history row twice), or, for damage, stops replay
 * at the damaged record and says so in /v1/recovery, with the damaged segments kept aside unchanged.
 */
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { decodeChanges } from '../src/store/log/codec.js'
import { readRecord } from '../src/store/log/frame.js'
import { listSegments, logDir } from '../src/store/log/segments.js'
import { startService, type Service } from './child.js'
import { duckRows } from './duck.js'
import { call } from './faults.js'

const CRASHING = 'test/fixtures/crash-in-log.ts'
const WIDE = { since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' }

interface Record_ {
  segment: string
  at: number
  end: number
  commit: number
  /** The registry keys the commit wrote. */
  keys: string[]
}

/** Every whole record in the log folder, oldest first. */
function records (dataDir: string): Record_[] {
  const out: Record_[] = []
  for (const seg of listSegments(logDir(dataDir))) {
    const buf = readFileSync(seg.path)
    for (let at = 0; at < buf.length;) {
      const r = readRecord(buf, at)
      if (!r.ok) break
      const keys = decodeChanges(r.payload).flatMap((c) => c.entries.filter((e) => e.grp === 'registry').map((e) => e.key))
      out.push({ segment: seg.path, at, end: r.end, commit: r.commit, keys })
      at = r.end
    }
  }
  return out
}

async function foldedCommit (dataDir: string): Promise<number> {
  const [row] = await duckRows(join(dataDir, '.core', 'db.duckdb'), 'SELECT folded_commit::INTEGER AS n FROM log_state')
  return Number(row?.n)
}

const running = (note = '') => ({ status: 'running', agent: 'codex:m', runs: 1, note })

/** PUTs `names` one after another; returns those acknowledged (stops at the first that is not: the service died). */
async function putAll (svc: Service, names: string[], body: Record<string, unknown>): Promise<string[]> {
  const acked: string[] = []
  for (const name of names) {
    // A connection the dying service dropped is status 0.
    const res = await call(svc.url, 'PUT', `/v1/workspaces/${name}`, body)
    if (res.status < 200 || res.status >= 300) break
    acked.push(name)
  }
  return acked
}

/** The crashing service over a fresh data folder, with the arm file beside it. */
async function crashing (t: Test, at: 'fold' | 'retire', env: Record<string, string> = {}): Promise<{ svc: Service, dataDir: string, arm: () => void }> {
  const dir = t.testdir()
  const dataDir = join(dir, 'data')
  const armFile = join(dir, 'armed')
  const svc = await startService(t, { DATA_DIR: dataDir, CRASH_AT: at, CRASH_ARMED: armFile, LEASE_S: '0', ...env }, CRASHING)
  return { svc, dataDir, arm: () => writeFileSync(armFile, '') }
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `core/${prefix}/w-${i}`)

async function runCount (svc: Service): Promise<number> {
  const stats = (await call(svc.url, 'GET', `/v1/stats/runs?since=${WIDE.since}&until=${WIDE.until}`)).body as { groups: Array<{ count: number }> }
  return stats.groups.reduce((n, g) => n + g.count, 0)
}

t.test('kill -9 inside a fold: DuckDB has none of it, the next start replays it, no run counted twice', async (t) => {
  const { svc, dataDir, arm } = await crashing(t, 'fold')
  const started = await putAll(svc, names('fold', 8), running())
  t.equal(started.length, 8)
  t.same(await putAll(svc, started.slice(0, 4), { ...running(), status: 'completed' }), started.slice(0, 4), 'four runs end')
  arm()
  // Written after arming, so a fold is still to come: the fold timer or this stats read runs it, and it dies.
  const late = await putAll(svc, names('fold-late', 3), running())
  await call(svc.url, 'GET', '/v1/stats/runs')
  t.equal(await svc.exited, 'SIGKILL', 'the service died inside the fold')
  const logged = records(dataDir)
  const folded = await foldedCommit(dataDir)
  t.ok(folded < (logged.at(-1)?.commit ?? 0), `DuckDB (commit ${folded}) is behind the log (commit ${logged.at(-1)?.commit}): the killed fold stored nothing`)

  const next = await startService(t, { DATA_DIR: dataDir, LEASE_S: '0' })
  const report = (await call(next.url, 'GET', '/v1/recovery')).body as { log: { replayed: number, folded_commit: number, torn: unknown, damaged: unknown }, timings_ms: Record<string, number> }
  t.match(report.log, { folded_commit: folded, torn: null, damaged: null })
  t.ok(report.log.replayed >= 1, 'the commits past the store\'s were replayed')
  t.type(report.timings_ms.log_replay, 'number', 'the replay is a timed start-up step')
  for (const name of started.slice(0, 4)) t.match((await call(next.url, 'GET', `/v1/workspaces/${name}`)).body, { status: 'completed' }, `${name} ended`)
  for (const name of [...started.slice(4), ...late]) t.match((await call(next.url, 'GET', `/v1/workspaces/${name}`)).body, { status: 'running' }, `${name} is there`)
  t.equal(await runCount(next), 4, 'each ended run is in the history once')
  await next.kill('SIGTERM')
  t.equal(next.proc.exitCode, 0)
  t.same(listSegments(logDir(dataDir)), [], 'a clean stop folds everything and leaves no segment')
})

t.test('kill -9 while folded segments are retired: the next start skips what DuckDB holds and deletes them', async (t) => {
  // Small segments, so every few writes roll a new one and a fold has whole segments to retire.
  const { svc, dataDir, arm } = await crashing(t, 'retire', { LOG_SEGMENT_BYTES: '4096' })
  const note = 'n'.repeat(1500)
  const started = await putAll(svc, names('retire', 6), running(note))
  t.equal(started.length, 6)
  t.same(await putAll(svc, started.slice(0, 3), { ...running(note), status: 'failed' }), started.slice(0, 3))
  arm()
  const late = await putAll(svc, names('retire-late', 6), running(note))
  await call(svc.url, 'GET', '/v1/stats/runs')
  t.equal(await svc.exited, 'SIGKILL', 'the service died before deleting a folded segment')
  const folded = await foldedCommit(dataDir)
  const left = records(dataDir)
  t.ok(left.some((r) => r.commit <= folded), 'a segment DuckDB holds was left behind')
  const before = new Set(listSegments(logDir(dataDir)).map((s) => s.name))

  const next = await startService(t, { DATA_DIR: dataDir, LEASE_S: '0' })
  const report = (await call(next.url, 'GET', '/v1/recovery')).body as { log: Record<string, unknown> }
  t.match(report.log, { folded_commit: folded, torn: null, damaged: null })
  t.equal(report.log.replayed, left.filter((r) => r.commit > folded).length, 'only commits past the store\'s are replayed')
  t.same(listSegments(logDir(dataDir)).filter((s) => before.has(s.name) && left.every((r) => r.segment !== s.path || r.commit <= folded)), [], 'the folded segments are gone')
  for (const name of started.slice(0, 3)) t.match((await call(next.url, 'GET', `/v1/workspaces/${name}`)).body, { status: 'failed' })
  for (const name of [...started.slice(3), ...late]) t.match((await call(next.url, 'GET', `/v1/workspaces/${name}`)).body, { status: 'running' })
  t.equal(await runCount(next), 3, 'no run counted twice')
  await next.kill('SIGTERM')
})

t.test('a torn last record is cut back to the last whole one and reported; every acknowledged write is there', async (t) => {
  const dataDir = t.testdir()
  const svc = await startService(t, { DATA_DIR: dataDir })
  const acked = await putAll(svc, names('torn', 5), running())
  t.equal(acked.length, 5)
  await svc.kill('SIGKILL')
  // A crash in the middle of the next write: the first part of a record, never acknowledged.
  const last = records(dataDir).at(-1) as Record_
  const whole = statSync(last.segment).size
  const tornBytes = Math.floor((last.end - last.at) / 2)
  appendFileSync(last.segment, readFileSync(last.segment).subarray(last.at, last.at + tornBytes))

  const next = await startService(t, { DATA_DIR: dataDir })
  const report = (await call(next.url, 'GET', '/v1/recovery')).body as { log: Record<string, unknown> }
  t.match(report.log, { torn: { offset: whole, bytes: tornBytes, reason: 'short_record' }, damaged: null })
  t.notOk(existsSync(last.segment), 'cut, replayed into the store, then retired at start-up')
  for (const name of acked) t.equal((await call(next.url, 'GET', `/v1/workspaces/${name}`)).status, 200, `${name} is there`)
  t.ok(next.logs.some((l) => /cut short/.test(String(l.msg))), 'the cut is logged')
  await next.kill('SIGTERM')
})

t.test('a flipped byte mid-segment stops replay before it: reported, the damaged segment kept aside unchanged', async (t) => {
  // Armed from the start: the first fold dies, so the writes stay in the log only.
  const { svc, dataDir, arm } = await crashing(t, 'fold')
  arm()
  const acked = await putAll(svc, names('flip', 6), running())
  await svc.exited
  const folded = await foldedCommit(dataDir)
  const unfolded = records(dataDir).filter((r) => r.commit > folded && r.keys.length > 0)
  t.ok(unfolded.length >= 2, `writes past the store's commit ${folded} are in the log only`)
  // The first of them, with at least one whole record after it: damage in the middle, not a torn tail.
  const target = unfolded[0] as Record_
  const buf = readFileSync(target.segment)
  buf[target.end - 3]! ^= 0x10
  writeFileSync(target.segment, buf)

  const next = await startService(t, { DATA_DIR: dataDir })
  t.equal(((await call(next.url, 'GET', '/readyz')).body as { store: string }).store, 'ok', 'the service runs on')
  const report = (await call(next.url, 'GET', '/v1/recovery')).body as { log: { damaged: { moved_to: string, segments: string[] } } }
  t.match(report.log, { torn: null, damaged: { reason: 'bad_checksum', offset: target.at, last_commit: target.commit - 1 } })
  const moved = join(dataDir, report.log.damaged.moved_to, report.log.damaged.segments[0] as string)
  t.same(readFileSync(moved), buf, 'the damaged segment is kept, unchanged')
  t.ok(next.logs.some((l) => l.level === 50 && /damaged/.test(String(l.msg))), 'and the damage is logged as an error')
  for (const r of unfolded) {
    for (const name of r.keys) {
      const status = (await call(next.url, 'GET', `/v1/workspaces/${name}`)).status
      t.equal(status, r.commit < target.commit ? 200 : 404, `${name} (commit ${r.commit}) ${r.commit < target.commit ? 'replayed' : 'not replayed past the damage'}`)
    }
  }
  t.ok(acked.length >= unfolded.length)
  // The service numbers its next commits after the last one replayed, and a restart reads them back.
  t.equal((await call(next.url, 'PUT', '/v1/workspaces/core/flip/after', running())).status, 201)
  await next.kill('SIGTERM')
  const again = await startService(t, { DATA_DIR: dataDir })
  t.equal((await call(again.url, 'GET', '/v1/workspaces/core/flip/after')).status, 200)
  t.match(((await call(again.url, 'GET', '/v1/recovery')).body as { log: unknown }).log, { damaged: null, torn: null })
  await again.kill('SIGTERM')
})
