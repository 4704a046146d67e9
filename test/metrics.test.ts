import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { packageInfo } from '../src/shared/package-info.js'
import { build, deadPid, json, put, report } from './helper.js'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** Parses the text exposition format into samples; comments (HELP, TYPE) are skipped. */
function parse (text: string): Sample[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((line) => {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k as string] = v as string
    return { name: m[1] as string, labels, value: Number(m[3]) }
  })
}

async function scrape (app: FastifyInstance, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await app.inject({ url: '/metrics', headers })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}`)
  return parse(res.body)
}

/** Labels as JSON with sorted keys: the exposition's label order is the library's business. */
const key = (labels: Record<string, string>): string => JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1)))

/** The samples of `name`, as `{labels as JSON: value}`, so a test can compare a whole metric at once. */
function series (samples: Sample[], name: string): Record<string, number> {
  return Object.fromEntries(samples.filter((s) => s.name === name).map((s) => [key(s.labels), s.value]))
}

/** The one sample of `name` with exactly `labels`, or undefined. */
function value (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return series(samples, name)[key(labels)]
}

t.test('state metrics: workspaces, pools, backoff, sync queue, ghosts, orphans and the store, as exact values', async (t) => {
  const dataDir = t.testdir({ '.core': { state: { 'junk.duckdb': 'not a database' } } })
  const { app } = await build(t, {}, { dataDir })
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config', ...json({ concurrency: { codex: 2, claude: { total: 3, opus: 1 } } }) })).statusCode, 200)
  await put(app, 'core/a/ghost', report({ pid: deadPid() }))
  await put(app, 'core/a/alive', report({ pid: process.pid }))
  await put(app, 'core/a/waiting', report({ status: 'queued', runs: 0, agent: 'claude:opus' }))
  await put(app, 'core/a/other', report({ status: 'queued', runs: 0, agent: 'gemini:pro' }))
  const reap = await app.inject({ method: 'POST', url: '/v1/reap' })
  t.match(reap.json().reaped, [{ name: 'core/a/ghost', reason: 'pid_dead' }])
  t.equal((await app.inject({ method: 'PUT', url: '/v1/pools/claude/backoff', ...json({ seconds: 600, reason: 'quota' }) })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/v1/sync/queue', ...json({ agent_id: 'charon', dispatches: [{ workspace: 'core/a/x', status: 'completed' }] }) })).statusCode, 202)

  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const s = parse(res.body)

  const byStatus = series(s, 'agent_state_workspaces')
  t.equal(byStatus['{"status":"running"}'], 1)
  t.equal(byStatus['{"status":"failed"}'], 1, 'the ghost')
  t.equal(byStatus['{"status":"queued"}'], 2)
  t.equal(byStatus['{"status":"completed"}'], 0, 'every status has a series, zero included')

  t.same(series(s, 'agent_state_pool_running'), { '{"pool":"claude"}': 0, '{"pool":"codex"}': 1, '{"pool":"gemini"}': 0 })
  t.same(series(s, 'agent_state_pool_tracked'), { '{"pool":"claude"}': 1, '{"pool":"codex"}': 2, '{"pool":"gemini"}': 1 })
  t.same(series(s, 'agent_state_pool_limit'), { '{"pool":"claude"}': 3, '{"pool":"codex"}': 2 }, 'an unlimited pool has no limit series')
  t.same(series(s, 'agent_state_pool_backoff_active'), { '{"pool":"claude"}': 1, '{"pool":"codex"}': 0, '{"pool":"gemini"}': 0 })
  t.same(series(s, 'agent_state_pool_fast_failures'), { '{"pool":"claude"}': 0, '{"pool":"codex"}': 1, '{"pool":"gemini"}': 0 }, 'the reaped run failed fast')

  t.equal(value(s, 'agent_state_sync_queue_depth'), 1)
  t.equal(value(s, 'agent_state_sync_dead_letters'), 0)
  t.same(series(s, 'agent_state_ghosts_reaped_total'), { '{"reason":"pid_dead"}': 1, '{"reason":"pid_reused"}': 0, '{"reason":"lease_expired"}': 0 })
  t.same(series(s, 'agent_state_orphan_buffers_total'), { '{"outcome":"discarded"}': 0, '{"outcome":"deleted_committed"}': 0, '{"outcome":"quarantined"}': 1, '{"outcome":"left_in_place"}': 0 })
  t.equal(value(s, 'agent_state_store_up'), 1)
  t.ok(s.some((x) => x.name === 'process_cpu_user_seconds_total'), 'process metrics, under the standard names')
  t.notOk(s.some((x) => x.name.startsWith('agent_state_process_') || x.name.startsWith('agent_state_nodejs_')), 'no prefixed copy')
  t.same(series(s, 'agent_state_build_info'), { [key({ version: packageInfo.version, nodejs_version: process.versions.node })]: 1 })
  t.equal(value(s, 'agent_state_sync_delivered_total'), 0)

  // A backoff that expires stops counting at once, and a cleared one leaves a zero.
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/pools/claude/backoff' })).statusCode, 200)
  t.equal(value(await scrape(app), 'agent_state_pool_backoff_active', { pool: 'claude' }), 0)
})

t.test('ghosts reaped by the start-up pass are counted, and a later pass adds to them', async (t) => {
  const first = await build(t)
  await put(first.app, 'core/a/ghost', report({ pid: deadPid() }))
  await first.app.close()
  const { app } = await build(t, {}, { dataDir: first.dataDir })
  t.equal(value(await scrape(app), 'agent_state_ghosts_reaped_total', { reason: 'pid_dead' }), 1)
  await put(app, 'core/a/again', report({ pid: deadPid() }))
  await app.inject({ method: 'POST', url: '/v1/reap' })
  t.equal(value(await scrape(app), 'agent_state_ghosts_reaped_total', { reason: 'pid_dead' }), 2)
})

t.test('requests are counted and timed by route pattern; unmatched URLs share one series', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/a/one', report())
  await put(app, 'core/b/two', report())
  await app.inject({ url: '/v1/workspaces/core/a/one' })
  await app.inject({ url: '/v1/workspaces/core/a/missing' })
  await app.inject({ url: '/no/such/page-1' })
  await app.inject({ url: '/no/such/page-2' })
  await app.inject({ method: 'POST', url: '/v1/nothing-here' })

  const s = await scrape(app)
  const route = '/v1/workspaces/:org/:repo/:leaf'
  t.equal(value(s, 'agent_state_http_requests_total', { method: 'PUT', route, status_code: '201' }), 2)
  t.equal(value(s, 'agent_state_http_requests_total', { method: 'GET', route, status_code: '200' }), 1)
  t.equal(value(s, 'agent_state_http_requests_total', { method: 'GET', route, status_code: '404' }), 1)
  t.equal(value(s, 'agent_state_http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' }), 2)
  t.equal(value(s, 'agent_state_http_requests_total', { method: 'POST', route: 'unmatched', status_code: '404' }), 1)
  t.equal(value(s, 'agent_state_http_request_duration_seconds_count', { method: 'PUT', route, status_code: '201' }), 2)
  t.equal(value(s, 'agent_state_http_request_duration_seconds_bucket', { method: 'PUT', route, status_code: '201', le: '+Inf' }), 2)
  t.notOk(s.some((x) => Object.values(x.labels).some((v) => /page-|core\/|nothing-here/.test(v))), 'no label holds a URL')

  // The scrape itself is counted once it is answered, under its own pattern.
  t.equal(value(await scrape(app), 'agent_state_http_requests_total', { method: 'GET', route: '/metrics', status_code: '200' }), 1)
})

t.test('each app has its own registry: counts do not leak between apps in one process', async (t) => {
  const a = await build(t)
  const b = await build(t)
  await put(a.app, 'core/a/one', report())
  t.equal(value(await scrape(a.app), 'agent_state_workspaces', { status: 'running' }), 1)
  const s = await scrape(b.app)
  t.equal(value(s, 'agent_state_workspaces', { status: 'running' }), 0)
  t.equal(value(s, 'agent_state_http_requests_total', { method: 'PUT', route: '/v1/workspaces/:org/:repo/:leaf', status_code: '201' }), undefined)
})

t.test('a degraded store shows as agent_state_store_up 0', async (t) => {
  const dataDir = t.testdir()
  mkdirSync(join(dataDir, '.core'))
  writeFileSync(join(dataDir, '.core', 'db.duckdb'), 'this is not a DuckDB file '.repeat(200))
  const { app } = await build(t, {}, { dataDir })
  t.equal((await put(app, 'core/a/one', report())).statusCode, 503)
  const s = await scrape(app)
  t.equal(value(s, 'agent_state_store_up'), 0)
  t.equal(value(s, 'agent_state_workspaces', { status: 'running' }), 0, 'the refused write changed nothing')
})

t.test('with AUTH_TOKENS set, /metrics needs a read token', async (t) => {
  const { app } = await build(t, { AUTH_TOKENS: 'scraper-token-00001:read' })
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 401)
  t.equal(value(await scrape(app, { authorization: 'Bearer scraper-token-00001' }), 'agent_state_store_up'), 1)
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'probes stay open')
})
