/**
 * An outcome is evidence, a reap is an inference (issue 22.6): a reaped run's own outcome, with the time it
 * ended, overrules the reap in the record, the run history and the backoff count; the reap stays in the events;
 * fencing still holds; reaps found at start-up never count as fast failures.
 */
import { join } from 'node:path'
import t from 'tap'
import { duckRows } from './duck.js'
import { build, deadPid, put, report } from './helper.js'

function clockAt (iso: string) {
  let now = Date.parse(iso)
  return { clock: () => new Date(now), advance: (s: number) => { now += s * 1000 }, at: (s: number) => new Date(now + s * 1000).toISOString() }
}

// No periodic pass: each test reaps when it says so (POST /v1/reap), or at start-up.
const ENV = { REAPER_INTERVAL_S: '3600', REAPER_PID_CHECK: 'local' }

const historyOf = (dataDir: string, workspace: string) => duckRows(join(dataDir, '.core', 'db.duckdb'),
  `SELECT runs, outcome, reap_reason, duration_s, ended_at FROM run_history WHERE workspace = '${workspace}' ORDER BY runs`)

type App = Awaited<ReturnType<typeof build>>['app']
const get = async (app: App, name: string) => (await app.inject({ url: `/v1/workspaces/${name}` }))
const reap = async (app: App) => (await app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped as Array<{ name: string, reason: string }>
const eventsOf = async (app: App, name: string) => (await app.inject({ url: `/v1/events/log?type=workspace&subject=${name}` })).json().items.map((e: { data: unknown }) => e.data).reverse()

t.test("a reaped run's own outcome overrules the reap; the reap stays in the events; fencing holds", async (t) => {
  const c = clockAt('2026-12-01T10:00:00.000Z')
  const { app, dataDir } = await build(t, ENV, { clock: c.clock })
  const name = 'core/go-io/late'
  const startedAt = c.at(0)
  t.equal((await put(app, name, report({ pid: deadPid() }))).statusCode, 201)
  c.advance(20)
  t.match(await reap(app), [{ name, reason: 'pid_dead' }])
  const reaped = await get(app, name)
  t.match(reaped.json(), { status: 'failed', reaped: { reason: 'pid_dead' } })

  const refusals: Array<[Record<string, unknown>, number, string]> = [
    [report({ status: 'completed' }), 409, 'stale_run'], // an outcome without the time it ended proves nothing
    [report({ status: 'running', ended_at: c.at(-15) }), 409, 'stale_run'], // a reaped run never runs again
    [report({ status: 'queued', ended_at: c.at(-15) }), 409, 'stale_run'],
    [report({ status: 'completed', ended_at: c.at(61) }), 400, 'validation_failed'], // beyond a minute of clock skew
    [report({ status: 'completed', ended_at: new Date(Date.parse(startedAt) - 61_000).toISOString() }), 400, 'validation_failed'],
    [report({ status: 'completed', ended_at: 'yesterday' }), 400, 'validation_failed']
  ]
  for (const [body, status, code] of refusals) {
    const res = await put(app, name, body)
    t.equal(res.statusCode, status, JSON.stringify(body))
    t.equal(res.json().code, code)
  }
  t.equal((await get(app, name)).headers.etag, reaped.headers.etag, 'the refusals changed nothing')

  const outcome = await put(app, name, report({ status: 'completed', note: 'exit code 0', ended_at: c.at(-14) }))
  t.equal(outcome.statusCode, 200)
  const record = outcome.json()
  t.match(record, { status: 'completed', runs: 1, note: 'exit code 0', started_at: startedAt })
  t.notOk('reaped' in record, 'the outcome replaced the verdict')
  t.notOk('ended_at' in record, 'ended_at is not part of the record')
  t.equal((await put(app, name, report({ status: 'completed', note: 'again', ended_at: c.at(-14) }))).statusCode, 200, 'a repeated report is an ordinary update')

  t.match(await eventsOf(app, name), [
    { action: 'created', status: 'running' },
    { action: 'reaped', reason: 'pid_dead', status: 'failed' },
    { action: 'updated', status: 'completed', overrules: { reason: 'pid_dead', evidence: /is not running/ } },
    { action: 'updated', status: 'completed' }
  ], 'the reap stays in the events')

  // A newer run fences the older one's outcome off, as before.
  const other = 'core/go-io/superseded'
  await put(app, other, report({ pid: deadPid() }))
  c.advance(5)
  await reap(app)
  t.equal((await put(app, other, report({ runs: 2 }))).statusCode, 200)
  const stale = await put(app, other, report({ status: 'completed', ended_at: c.at(-3) }))
  t.equal(stale.statusCode, 409)
  t.equal(stale.json().code, 'stale_run')
  t.match((await get(app, other)).json(), { status: 'running', runs: 2 })

  await app.close()
  const rows = await historyOf(dataDir, name)
  t.equal(rows.length, 1, 'one row for the run: the outcome replaced the reap')
  t.match(rows[0], { runs: 1, outcome: 'completed', reap_reason: null, duration_s: 6 })
  t.equal((rows[0]?.ended_at as Date).toISOString(), '2026-12-01T10:00:06.000Z', 'dated when the run ended, not when the report arrived')
  t.match(await historyOf(dataDir, other), [{ runs: 1, outcome: 'reaped', reap_reason: 'pid_dead' }], 'a fenced-off outcome replaces nothing')
})

t.test('a reap counts towards backoff only until its run\'s own outcome arrives', async (t) => {
  const c = clockAt('2026-12-01T10:00:00.000Z')
  const { app } = await build(t, ENV, { clock: c.clock })
  const pool = async () => (await app.inject({ url: '/v1/pools/codex' })).json()
  const reapedRuns = async (leaves: string[]) => {
    for (const leaf of leaves) await put(app, `core/r/${leaf}`, report({ pid: deadPid() }))
    c.advance(10)
    t.equal((await reap(app)).length, leaves.length)
  }
  const outcome = (leaf: string, status: string, endedAfterS: number) =>
    put(app, `core/r/${leaf}`, report({ status, ended_at: c.at(endedAfterS - 10) }))

  // Three fast reaps in a row back the pool off; the first one's outcome lifts it, the others' take their place.
  await reapedRuns(['a', 'b', 'c'])
  t.match(await pool(), { admissible: false, reasons: ['backoff'], backoff_reason: /^3 failures in a row/ })
  t.equal((await outcome('a', 'completed', 5)).statusCode, 200)
  t.match(await pool(), { admissible: true, backoff_until: null, fail_count: 2 }, 'lifted: the rest of the row counts on')
  t.equal((await outcome('b', 'failed', 5)).statusCode, 200)
  t.equal((await pool()).fail_count, 2, 'a fast failure stays one, now as reported')
  t.equal((await outcome('c', 'completed', 5)).statusCode, 200)
  t.equal((await pool()).fail_count, 0, 'a success where the reap stood breaks the row')
  const lifted = (await app.inject({ url: '/v1/events/log?type=backoff&subject=codex' })).json().items.map((e: { data: unknown }) => e.data)
  t.match(lifted, [{ action: 'lifted', by: 'auto', reason: /core\/r\/a#1/ }, { action: 'auto' }])

  // Two reaps counted, then their outcomes: nothing is left of the count.
  await reapedRuns(['d', 'e'])
  t.equal((await pool()).fail_count, 2)
  await outcome('e', 'completed', 8)
  t.equal((await pool()).fail_count, 0, "the row breaks where e's reap stood")
})

t.test('reaps found at start-up do not count as fast failures; their outcomes are recorded', async (t) => {
  const c = clockAt('2026-12-01T10:00:00.000Z')
  const first = await build(t, ENV, { clock: c.clock })
  for (const leaf of ['a', 'b', 'c']) t.equal((await put(first.app, `core/r/${leaf}`, report({ pid: deadPid() }))).statusCode, 201)
  await first.app.close()

  // The service is down while the three runs end; the restart finds their processes gone.
  c.advance(14)
  const { app, dataDir } = await build(t, ENV, { clock: c.clock, dataDir: first.dataDir })
  const recovery = (await app.inject({ url: '/v1/recovery' })).json()
  t.equal(recovery.reaped.length, 3)
  t.match((await app.inject({ url: '/v1/pools/codex' })).json(), { admissible: true, fail_count: 0, backoff_until: null }, 'three reaps at start-up, no backoff')
  t.match(await eventsOf(app, 'core/r/a'), [{ action: 'created' }, { action: 'reaped', reason: 'pid_dead', at_startup: true }])

  // The runners deliver the outcomes they held while the service was down.
  for (const leaf of ['a', 'b', 'c']) t.equal((await put(app, `core/r/${leaf}`, report({ status: 'completed', ended_at: c.at(-8) }))).statusCode, 200)
  t.match((await app.inject({ url: '/v1/pools/codex' })).json(), { admissible: true, fail_count: 0 })
  const stats = (await app.inject({ url: '/v1/stats/runs?since=2026-12-01T00:00:00Z&until=2026-12-02T00:00:00Z' })).json()
  t.match(stats.groups, [{ key: 'all', count: 3, completed: 3, reaped: 0 }])
  await app.close()
  t.match(await historyOf(dataDir, 'core/r/b'), [{ outcome: 'completed', duration_s: 6 }])
})
