/** The run history: one row for each way a run ends, recorded in the commit of the change that ends it. */
import t from 'tap'
import { duckRows } from './duck.js'
import { build, deadPid, json, put, report } from './helper.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The run_history table straight from the file (the app must be closed: it holds the lock). */
const historyRows = (dataDir: string) => duckRows(join(dataDir, '.core', 'db.duckdb'), 'SELECT * FROM run_history ORDER BY ended_at, workspace')

t.test('a report ending a run appends one row with the run\'s figures', async (t) => {
  let now = new Date('2026-11-30T10:00:00.000Z')
  const { app, dataDir } = await build(t, {}, { clock: () => now })
  t.equal((await put(app, 'core/go-io/task-1', report({ host: 'box-1' }))).statusCode, 201)
  now = new Date('2026-11-30T10:01:30.000Z')
  t.equal((await put(app, 'core/go-io/task-1', report({ status: 'running', host: 'box-1', note: 'still going' }))).statusCode, 200)
  now = new Date('2026-11-30T10:02:00.000Z')
  t.equal((await put(app, 'core/go-io/task-1', report({ status: 'completed', host: 'box-1' }))).statusCode, 200)
  // A finished workspace reported again ends nothing.
  t.equal((await put(app, 'core/go-io/task-1', report({ status: 'merged', host: 'box-1' }))).statusCode, 200)
  await app.close()
  const rows = await historyRows(dataDir)
  t.equal(rows.length, 1)
  t.match(rows[0], {
    workspace: 'core/go-io/task-1',
    org: 'core',
    repo: 'go-io',
    pool: 'codex',
    agent: 'codex:gpt-5.4',
    model: 'gpt-5.4',
    runs: 1,
    host: 'box-1',
    outcome: 'completed',
    duration_s: 120,
    reap_reason: null
  })
  t.equal((rows[0]?.started_at as Date).toISOString(), '2026-11-30T10:00:00.000Z')
  t.equal((rows[0]?.ended_at as Date).toISOString(), '2026-11-30T10:02:00.000Z')
})

/** A controllable clock. */
function clockAt (iso: string) {
  let now = Date.parse(iso)
  return { clock: () => new Date(now), advance: (s: number) => { now += s * 1000 } }
}

t.test('each other way a run ends: failed, blocked, requeued, superseded, deleted, reaped; claims and heartbeats end nothing', async (t) => {
  const c = clockAt('2026-11-30T10:00:00.000Z')
  const { app, dataDir } = await build(t, { LEASE_S: '600', REAPER_PID_CHECK: 'off' }, { clock: c.clock })
  for (const leaf of ['failed', 'blocked', 'requeued', 'superseded', 'deleted', 'reaped']) await put(app, `core/api/${leaf}`, report({ agent: 'claude:opus' }))
  c.advance(10)
  t.equal((await app.inject({ method: 'POST', url: '/v1/workspaces/core/api/reaped/heartbeat' })).statusCode, 200)
  await put(app, 'core/api/failed', report({ agent: 'claude:opus', status: 'failed' }))
  await put(app, 'core/api/blocked', report({ agent: 'claude:opus', status: 'blocked', question: 'which DB?' }))
  await put(app, 'core/api/requeued', report({ agent: 'claude:opus', status: 'queued' }))
  c.advance(10)
  await put(app, 'core/api/superseded', report({ agent: 'claude:opus', runs: 2 }))
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/api/deleted' })).statusCode, 204)
  // The requeued workspace is claimed: a new run starts, nothing ends.
  const claim = await app.inject({ method: 'POST', url: '/v1/queue/claim', ...json({}) })
  t.equal(claim.json().name, 'core/api/requeued')
  c.advance(600)
  const reap = await app.inject({ method: 'POST', url: '/v1/reap' })
  t.same(reap.json().reaped.map((g: { name: string }) => g.name).sort(), ['core/api/reaped', 'core/api/requeued', 'core/api/superseded'])
  await app.close()

  const rows = await historyRows(dataDir)
  const got = rows.map((r) => [r.workspace, r.runs, r.outcome, r.reap_reason, r.duration_s])
  t.same(got, [
    ['core/api/blocked', 1, 'blocked', null, 10],
    ['core/api/failed', 1, 'failed', null, 10],
    ['core/api/requeued', 1, 'queued', null, 10],
    ['core/api/deleted', 1, 'deleted', null, 20],
    ['core/api/superseded', 1, 'superseded', null, 20],
    ['core/api/reaped', 1, 'reaped', 'lease_expired', 620],
    ['core/api/requeued', 2, 'reaped', 'lease_expired', 600],
    ['core/api/superseded', 2, 'reaped', 'lease_expired', 600]
  ])
  t.ok(rows.every((r) => r.model === 'opus' && r.pool === 'claude' && r.host === ''))
})

t.test('a restart in the middle of a run: one reaped at start-up, one a status.json finished while the service was down, one the agent finishes afterwards', async (t) => {
  const c = clockAt('2026-11-30T10:00:00.000Z')
  const first = await build(t, {}, { clock: c.clock })
  await put(first.app, 'core/web/finishes', report({ host: 'far-away' }))
  await put(first.app, 'core/web/filed', report({ host: 'far-away' }))
  await put(first.app, 'core/web/dies', report({ pid: deadPid() }))
  await first.app.close()
  const dir = join(first.dataDir, 'workspace', 'core', 'web', 'filed')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'status.json'), JSON.stringify({
    name: 'core/web/filed',
    org: 'core',
    repo: 'web',
    leaf: 'filed',
    status: 'completed',
    agent: 'codex:gpt-5.4',
    pool: 'codex',
    runs: 1,
    task: 'fix the tests',
    priority: 0,
    started_at: '2026-11-30T10:00:00.000Z',
    updated_at: '2026-11-30T10:01:00.000Z',
    host: 'far-away'
  }))

  c.advance(100)
  const second = await build(t, {}, { clock: c.clock, dataDir: first.dataDir })
  t.match((await second.app.inject({ url: '/v1/workspaces/core/web/dies' })).json(), { status: 'failed', reaped: { reason: 'pid_dead' } })
  c.advance(50)
  t.equal((await put(second.app, 'core/web/finishes', report({ status: 'completed', host: 'far-away' }))).statusCode, 200)
  await second.app.close()

  const rows = await historyRows(first.dataDir)
  t.same(rows.map((r) => [r.workspace, r.outcome, r.reap_reason, r.duration_s]), [
    ['core/web/filed', 'completed', null, 60],
    ['core/web/dies', 'reaped', 'pid_dead', 100],
    ['core/web/finishes', 'completed', null, 150]
  ])
})

t.test('HISTORY_RETENTION_DAYS=0 records nothing; retention and the row cap trim the oldest', async (t) => {
  const c = clockAt('2026-11-01T00:00:00.000Z')
  const off = await build(t, { HISTORY_RETENTION_DAYS: '0' }, { clock: c.clock })
  await put(off.app, 'core/x/a', report())
  await put(off.app, 'core/x/a', report({ status: 'completed' }))
  await off.app.close()
  t.same(await historyRows(off.dataDir), [])

  const env = { HISTORY_RETENTION_DAYS: '30', HISTORY_MAX_ROWS: '2' }
  const { app, dataDir } = await build(t, env, { clock: c.clock })
  for (const [leaf, days] of [['a', 0], ['b', 10], ['c', 20], ['d', 25]] as const) {
    c.advance(days * 86400 - (Date.parse(c.clock().toISOString()) - Date.parse('2026-11-01T00:00:00.000Z')) / 1000)
    await put(app, `core/x/${leaf}`, report())
    await put(app, `core/x/${leaf}`, report({ status: 'completed' }))
  }
  await app.close()
  t.equal((await historyRows(dataDir)).length, 4, 'trimmed only by the periodic pass and at start-up')
  // 35 days after the first run: `a` is past the retention; of b, c, d the cap keeps the newest two.
  c.advance(10 * 86400)
  const again = await build(t, env, { clock: c.clock, dataDir })
  await again.app.close()
  t.same((await historyRows(dataDir)).map((r) => r.workspace), ['core/x/c', 'core/x/d'])
})
