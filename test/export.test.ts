/** GET /v1/export/{dataset}: each format read back by an independent reader (DuckDB for Parquet, csv-parse for CSV). */
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { duckRows } from './duck.js'
import { build, json, put, report } from './helper.js'

const T0 = Date.parse('2026-11-30T10:00:00.000Z')

async function seeded (t: Parameters<typeof build>[0]) {
  let now = T0
  const built = await build(t, { AUTH_TOKENS: 'r:read,a:admin' }, { clock: () => new Date(now) })
  const { app } = built
  const admin = { authorization: 'Bearer a' }
  for (const [leaf, agent, end, status] of [['t1', 'codex:gpt-5.4', 60, 'completed'], ['t2', 'claude:opus', 7200, 'failed']] as const) {
    const task = 'fix "the" tests, all of them\nnow'
    now = T0
    await put(app, `core/go-io/${leaf}`, report({ agent, task }), admin)
    now = T0 + end * 1000
    await put(app, `core/go-io/${leaf}`, report({ agent, status, task }), admin)
  }
  await put(app, 'core/go-io/t3', report({ status: 'queued', priority: 5 }), admin)
  const body = (b: unknown) => ({ payload: json(b).payload, headers: { ...admin, 'content-type': 'application/json' } })
  await app.inject({ method: 'POST', url: '/v1/buffers', ...body({ name: 'qa-1', workspace: 'core/go-io/t1' }) })
  await app.inject({ method: 'POST', url: '/v1/buffers/qa-1/entries', ...body([{ kind: 'finding', data: { tool: 'gosec', file: 'a.go', line: 1, code: 'G101' } }]) })
  t.equal((await app.inject({ method: 'POST', url: '/v1/buffers/qa-1/commit', headers: admin })).statusCode, 200)
  const get = (url: string, token = 'a') => app.inject({ url, headers: { authorization: `Bearer ${token}` } })
  return { ...built, get }
}

t.test('runs as Parquet, read back by DuckDB; the range applies to ended_at', async (t) => {
  const { get, dataDir } = await seeded(t)
  const res = await get('/v1/export/runs?format=parquet')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/vnd.apache.parquet')
  t.equal(res.headers['content-disposition'], 'attachment; filename="runs.parquet"')
  const file = join(dataDir, 'runs.parquet')
  writeFileSync(file, res.rawPayload)
  const rows = await duckRows(':memory:', `SELECT workspace, agent, model, outcome, duration_s, ended_at FROM read_parquet('${file}') ORDER BY ended_at`)
  t.same(rows.map((r) => [r.workspace, r.agent, r.model, r.outcome, r.duration_s, (r.ended_at as Date).toISOString()]), [
    ['core/go-io/t1', 'codex:gpt-5.4', 'gpt-5.4', 'completed', 60, '2026-11-30T10:01:00.000Z'],
    ['core/go-io/t2', 'claude:opus', 'opus', 'failed', 7200, '2026-11-30T12:00:00.000Z']
  ])
  const later = await get('/v1/export/runs?format=parquet&since=2026-11-30T11:00:00Z&until=2026-11-30T13:00:00Z')
  t.equal(later.statusCode, 200, later.statusCode === 200 ? '' : later.body)
  writeFileSync(file, later.rawPayload)
  t.same((await duckRows(':memory:', `SELECT workspace FROM read_parquet('${file}')`)).map((r) => r.workspace), ['core/go-io/t2'])
  t.same(readdirSync(join(dataDir, '.core', 'tmp')), [], 'the export file is gone once streamed')
})

t.test('workspaces and events as CSV, read back by a CSV parser', async (t) => {
  const { get } = await seeded(t)
  const res = await get('/v1/export/workspaces?format=csv')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
  const rows = parse(res.body, { columns: true }) as Array<Record<string, string>>
  t.same(rows.map((r) => [r.name, r.status, r.agent, r.runs, r.priority]), [
    ['core/go-io/t1', 'completed', 'codex:gpt-5.4', '1', '0'],
    ['core/go-io/t2', 'failed', 'claude:opus', '1', '0'],
    ['core/go-io/t3', 'queued', 'codex:gpt-5.4', '1', '5']
  ])
  t.equal(rows[0]?.task, 'fix "the" tests, all of them\nnow', 'quotes, commas and newlines survive')
  // Times are RFC 3339, exactly as the API writes them; a time a record lacks is an empty cell.
  const api = new Map(((await get('/v1/workspaces')).json().items as Array<Record<string, unknown>>).map((w) => [w.name, w]))
  for (const row of rows) {
    for (const field of ['started_at', 'queued_at', 'updated_at', 'heartbeat_at']) {
      t.equal(row[field], api.get(row.name)?.[field] ?? '', `${row.name as string} ${field}`)
    }
  }
  t.match(rows[0]?.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  const events = parse((await get('/v1/export/events?format=csv')).body, { columns: true }) as Array<Record<string, string>>
  const workspaceEvents = events.filter((e) => e.type === 'workspace')
  t.equal(workspaceEvents.length, 5, 'one per report')
  t.same(JSON.parse(workspaceEvents[0]?.data as string), { action: 'created', status: 'running', runs: 1, agent: 'codex:gpt-5.4' })
  t.ok(events.every((e, i) => i === 0 || BigInt(e.id as string) > BigInt(events[i - 1]?.id as string)), 'in id order')
})

t.test('the journal as NDJSON (the default format)', async (t) => {
  const { get } = await seeded(t)
  const res = await get('/v1/export/journal')
  t.equal(res.headers['content-type'], 'application/x-ndjson')
  const lines = res.body.trim().split('\n').map((l) => JSON.parse(l))
  t.match(lines, [{ id: 1, measurement: 'qa-1', workspace: 'core/go-io/t1', aggregate: { finding: 1 }, findings: [{ tool: 'gosec', code: 'G101' }] }])
  t.equal(lines[0].committed_at, '2026-11-30T12:00:00.000Z', 'times are RFC 3339, as the API writes them')
})

t.test('refusals: scope, dataset, format, range', async (t) => {
  const { get } = await seeded(t)
  t.equal((await get('/v1/export/runs', 'r')).statusCode, 403, 'admin only')
  for (const url of ['/v1/export/secrets', '/v1/export/runs?format=xml', '/v1/export/runs?since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z', '/v1/export/..%2f..%2fetc']) {
    const res = await get(url)
    t.equal(res.statusCode, 400, url)
    t.match(res.headers['content-type'], /^application\/problem\+json/, url)
  }
})
