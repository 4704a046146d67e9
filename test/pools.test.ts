import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, put, report, storedGroup } from './helper.js'

const ADMIN = 'admin-token-00001'
const auth = { authorization: `Bearer ${ADMIN}` }
const TOKENS = { AUTH_TOKENS: `${ADMIN}:admin,writer-token-0001:write` }

function clockAt (iso: string) {
  let now = Date.parse(iso)
  return { clock: () => new Date(now), advance: (s: number) => { now += s * 1000 }, set: (i: string) => { now = Date.parse(i) } }
}

const configure = (app: Awaited<ReturnType<typeof build>>['app'], body: unknown) =>
  app.inject({ method: 'PUT', url: '/v1/config', payload: body as object, headers: auth })

t.test('a codex backoff 15 minutes ahead and a fail count of 3 survive a restart', async (t) => {
  const c = clockAt('2026-11-25T10:00:00Z')
  const { app, dataDir } = await build(t, TOKENS, { clock: c.clock })
  t.equal((await configure(app, { backoff: { fail_threshold: 5 } })).statusCode, 200)
  for (let i = 0; i < 3; i++) {
    await put(app, `core/a/t${i}`, report({ agent: 'codex:gpt-5.4' }), auth)
    c.advance(10)
    await put(app, `core/a/t${i}`, report({ agent: 'codex:gpt-5.4', status: 'failed' }), auth)
  }
  const set = await app.inject({ method: 'PUT', url: '/v1/pools/codex/backoff', payload: { seconds: 900, reason: 'provider outage' }, headers: auth })
  t.equal(set.statusCode, 200)
  const deadline = new Date(c.clock().getTime() + 900_000).toISOString()
  const expected = { backoff: { codex: deadline }, fail_count: { codex: 3 } }
  t.same((await app.inject({ url: '/v1/backoff', headers: auth })).json(), expected)
  await app.close()

  const again = await build(t, TOKENS, { clock: c.clock, dataDir })
  t.same((await again.app.inject({ url: '/v1/backoff', headers: auth })).json(), expected)
  t.match((await again.app.inject({ url: '/v1/pools/codex', headers: auth })).json(), {
    backoff_until: deadline, backoff_reason: 'provider outage', fail_count: 3, admissible: false, reasons: ['backoff']
  })
})

t.test('three fast failures back the pool off for 30 minutes; slow ones and successes reset the count', async (t) => {
  const c = clockAt('2026-11-25T10:00:00Z')
  const { app } = await build(t, {}, { clock: c.clock })
  const run = async (name: string, seconds: number, outcome: string) => {
    await put(app, name, report({ agent: 'claude:opus' }))
    c.advance(seconds)
    await put(app, name, report({ agent: 'claude:opus', status: outcome }))
  }
  await run('core/a/1', 10, 'failed')
  await run('core/a/2', 10, 'failed')
  await run('core/a/3', 120, 'failed') // slow: not a rate-limit symptom
  t.equal((await app.inject({ url: '/v1/pools/claude' })).json().fail_count, 0)
  await run('core/a/4', 5, 'failed')
  await run('core/a/5', 5, 'completed')
  t.equal((await app.inject({ url: '/v1/pools/claude' })).json().fail_count, 0, 'a success resets the count')
  await run('core/a/6', 5, 'failed')
  await run('core/a/7', 5, 'failed')
  t.equal((await app.inject({ url: '/v1/pools/claude' })).json().fail_count, 2)
  await run('core/a/8', 5, 'failed')
  const pool = (await app.inject({ url: '/v1/pools/claude' })).json()
  t.match(pool, { admissible: false, reasons: ['backoff'], fail_count: 0, backoff_reason: /3 failures/ })
  t.equal(pool.backoff_until, new Date(c.clock().getTime() + 1800_000).toISOString())

  c.advance(1801)
  const after = (await app.inject({ url: '/v1/pools/claude' })).json()
  t.match(after, { admissible: true, reasons: [], backoff_until: null }, 'an expired backoff stops gating')
  t.same((await app.inject({ url: '/v1/backoff' })).json().backoff, {})
})

t.test('manual backoff set and clear are recorded with the caller; bad bodies are refused', async (t) => {
  const { app, dataDir } = await build(t, TOKENS)
  const writer = { authorization: 'Bearer writer-token-0001' }
  t.equal((await app.inject({ method: 'PUT', url: '/v1/pools/gemini/backoff', payload: { seconds: 60, reason: 'x' }, headers: writer })).statusCode, 403)
  for (const payload of [{ reason: 'no deadline' }, { seconds: 60, until: '2030-01-01T00:00:00Z', reason: 'both' }, { until: '2001-01-01T00:00:00Z', reason: 'past' }, { seconds: 60 }, { seconds: 60, reason: 'x', colour: 'red' }]) {
    const res = await app.inject({ method: 'PUT', url: '/v1/pools/gemini/backoff', payload, headers: auth })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
  }
  t.same((await app.inject({ url: '/v1/backoff', headers: auth })).json(), { backoff: {}, fail_count: {} }, 'refused bodies changed nothing')
  const set = await app.inject({ method: 'PUT', url: '/v1/pools/gemini/backoff', payload: { until: '2099-01-01T00:00:00Z', reason: 'quota' }, headers: auth })
  t.match(set.json(), { pool: 'gemini', backoff_until: '2099-01-01T00:00:00.000Z', backoff_reason: 'quota', admissible: false })
  const cleared = await app.inject({ method: 'DELETE', url: '/v1/pools/gemini/backoff', headers: auth })
  t.match(cleared.json(), { backoff_until: null, admissible: true })
  await app.close()
  const events = [...(await storedGroup(dataDir, 'event')).values()] as Array<{ type: string, data: { action: string, by: string } }>
  const backoffEvents = events.filter((e) => e.type === 'backoff')
  t.same(backoffEvents.map((e) => e.data.action), ['set', 'cleared'])
  for (const e of backoffEvents) t.match(e.data.by, /^token:[0-9a-f]{8}$/, 'the caller is named by token fingerprint, never the token')
  t.notMatch(JSON.stringify(events), ADMIN)
})

t.test('per-model sub-limits and the pool total gate the queue; unlimited pools always admit', async (t) => {
  const { app } = await build(t)
  t.equal((await configure(app, { concurrency: { claude: { total: 2, opus: 1 }, codex: 0 } })).statusCode, 200)
  await put(app, 'core/r/running-opus', report({ agent: 'claude:opus' }))
  await put(app, 'core/r/q-opus', report({ agent: 'claude:opus', status: 'queued', runs: 0, priority: 5 }))
  await put(app, 'core/r/q-sonnet', report({ agent: 'claude:sonnet', status: 'queued', runs: 0 }))
  for (let i = 0; i < 5; i++) await put(app, `core/r/codex-${i}`, report({ agent: 'codex' }))
  await put(app, 'core/r/q-codex', report({ agent: 'codex', status: 'queued', runs: 0, priority: 1 }))

  const queue = (await app.inject({ url: '/v1/queue' })).json()
  t.same(queue.items.map((i: { workspace: { name: string }, admissible: boolean, reasons: string[] }) => [i.workspace.name, i.admissible, i.reasons]), [
    ['core/r/q-opus', false, ['model_full']],
    ['core/r/q-codex', true, []],
    ['core/r/q-sonnet', true, []]
  ])
  const claude = (await app.inject({ url: '/v1/pools/claude' })).json()
  t.match(claude, { running: 1, tracked: 3, limit: 2, model_limits: { opus: 1 }, running_by_model: { opus: 1 }, admissible: true })
  t.match((await app.inject({ url: '/v1/pools/codex' })).json(), { running: 5, limit: null, admissible: true })

  const claimed = await app.inject({ method: 'POST', url: '/v1/queue/claim', payload: { pool: 'claude', host: 'box-1', pid: 99 } })
  t.equal(claimed.statusCode, 200)
  t.match(claimed.json(), { name: 'core/r/q-sonnet', status: 'running', runs: 1, host: 'box-1', pid: 99 })
  t.notOk('queued_at' in claimed.json())
  t.match((await app.inject({ url: '/v1/pools/claude' })).json(), { running: 2, admissible: false, reasons: ['pool_full'] })
  t.equal((await app.inject({ method: 'POST', url: '/v1/queue/claim', payload: { pool: 'claude' } })).statusCode, 204)
  t.equal((await app.inject({ url: '/v1/pools/nobody' })).statusCode, 404)
})

t.test('50 dispatchers claiming at once never exceed a limit and never share a workspace', async (t) => {
  const { app } = await build(t)
  await configure(app, { concurrency: { codex: 5, claude: { total: 4, opus: 2 } } })
  for (let i = 0; i < 20; i++) await put(app, `race/q/codex-${i}`, report({ agent: 'codex:gpt-5.4', status: 'queued', runs: 0 }))
  for (let i = 0; i < 20; i++) await put(app, `race/q/opus-${i}`, report({ agent: 'claude:opus', status: 'queued', runs: 0 }))
  const results = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'POST', url: '/v1/queue/claim', payload: {} })))
  const won = results.filter((r) => r.statusCode === 200).map((r) => r.json())
  t.equal(won.length, 7, '5 codex + 2 opus (the model limit binds before the claude total)')
  t.equal(results.filter((r) => r.statusCode === 204).length, 43)
  t.equal(new Set(won.map((w) => w.name)).size, won.length, 'no workspace was claimed twice')
  const snap = (await app.inject({ url: '/v1/concurrency' })).json()
  t.equal(snap.codex.running, 5)
  t.equal(snap.claude.running, 2)
})

t.test('the claim race holds over real sockets too', async (t) => {
  const { app } = await build(t)
  await configure(app, { concurrency: { codex: 3 } })
  for (let i = 0; i < 10; i++) await put(app, `race/s/w-${i}`, report({ agent: 'codex', status: 'queued', runs: 0 }))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const results = await Promise.all(Array.from({ length: 50 }, () => fetch(`${url}/v1/queue/claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })))
  const bodies = await Promise.all(results.filter((r) => r.status === 200).map((r) => r.json() as Promise<{ name: string }>))
  t.equal(bodies.length, 3)
  t.equal(new Set(bodies.map((b) => b.name)).size, 3)
})

t.test('the daily budget counts starts since reset_utc and admits again after the reset', async (t) => {
  const c = clockAt('2026-11-25T05:00:00Z')
  const { app, dataDir } = await build(t, {}, { clock: c.clock })
  await configure(app, { rates: { gemini: { daily_limit: 2, reset_utc: '06:00' } } })
  await put(app, 'core/d/1', report({ agent: 'gemini' }))
  await put(app, 'core/d/1', report({ agent: 'gemini', status: 'completed' }))
  await put(app, 'core/d/2', report({ agent: 'gemini' }))
  await put(app, 'core/d/q', report({ agent: 'gemini', status: 'queued', runs: 0 }))
  let pool = (await app.inject({ url: '/v1/pools/gemini' })).json()
  t.match(pool, { admissible: false, reasons: ['daily_budget'], daily: { started: 2, limit: 2, resets_at: '2026-11-25T06:00:00.000Z' } })
  t.equal((await app.inject({ method: 'POST', url: '/v1/queue/claim', payload: {} })).statusCode, 204)
  await app.close()

  c.set('2026-11-25T05:59:59Z')
  const again = await build(t, {}, { clock: c.clock, dataDir })
  t.match((await again.app.inject({ url: '/v1/pools/gemini' })).json().daily, { started: 2 }, 'the count survives a restart')
  c.set('2026-11-25T06:00:00Z')
  pool = (await again.app.inject({ url: '/v1/pools/gemini' })).json()
  t.match(pool, { admissible: true, daily: { started: 0, resets_at: '2026-11-26T06:00:00.000Z' } })
  const claimed = await again.app.inject({ method: 'POST', url: '/v1/queue/claim', payload: {} })
  t.equal(claimed.json().name, 'core/d/q')
  t.equal((await again.app.inject({ url: '/v1/pools/gemini' })).json().daily.started, 1)
})

t.test('configuration: agents.yaml at start-up, bad input refused with nothing changed, last good kept', async (t) => {
  const dataDir = t.testdir()
  writeFileSync(join(dataDir, 'agents.yaml'), [
    '# shared with the Go agent',
    'dispatch:',
    '  default_agent: claude',
    'concurrency:',
    '  claude: {total: 3, opus: 1}',
    '  codex: 2',
    'rates:',
    '  claude: {reset_utc: "06:00", daily_limit: 50, min_delay: 30, sustained_delay: 60, burst_window: 5, burst_delay: 300}',
    ''
  ].join('\n'))
  const { app } = await build(t, TOKENS, { dataDir })
  const got = (await app.inject({ url: '/v1/config', headers: auth })).json()
  t.match(got, { origin: 'file', error: null, config: { concurrency: { claude: { total: 3, opus: 1 }, codex: 2 } } })
  t.notOk('dispatch' in got.config, 'sections this service does not use are ignored')

  const before = readFileSync(join(dataDir, 'agents.yaml'), 'utf8')
  const bad = await configure(app, { concurrency: { codex: -1, claude: { total: 'three' } }, rates: { codex: { reset_utc: '25:00' } }, extra: {} })
  t.equal(bad.statusCode, 400)
  const fields = bad.json().errors.map((e: { field: string }) => e.field.replace(/^body\./, ''))
  for (const key of ['concurrency.codex', 'concurrency.claude.total', 'rates.codex.reset_utc']) t.ok(fields.some((f: string) => f.startsWith(key)), `names ${key}: ${fields}`)
  t.same((await app.inject({ url: '/v1/config', headers: auth })).json(), got, 'nothing changed')
  t.equal(readFileSync(join(dataDir, 'agents.yaml'), 'utf8'), before)

  const ok = await configure(app, { concurrency: { codex: 4 } })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { origin: 'api', config: { concurrency: { codex: 4 } } })
  t.equal((await app.inject({ url: '/v1/pools/codex', headers: auth })).json().limit, 4, 'applied at once')
  const file = readFileSync(join(dataDir, 'agents.yaml'), 'utf8')
  t.match(file, /default_agent: claude/, 'the Go agent\'s sections are kept')
  t.match(file, /codex: 4/)
  await app.close()

  writeFileSync(join(dataDir, 'agents.yaml'), 'concurrency:\n  codex: lots\n')
  const again = await build(t, TOKENS, { dataDir })
  const ready = (await again.app.inject({ url: '/readyz' })).json()
  t.match(ready, { store: 'ok', config_error: /concurrency\.codex/ })
  t.match((await again.app.inject({ url: '/v1/config', headers: auth })).json(), { origin: 'store', config: { concurrency: { codex: 4 } } }, 'the last good configuration is kept')
  t.equal((await again.app.inject({ url: '/v1/pools/codex', headers: auth })).json().limit, 4)
})

t.test('invalid YAML in agents.yaml is reported, never fatal', async (t) => {
  const dataDir = t.testdir({ 'agents.yaml': 'concurrency: [unclosed\n' })
  const { app } = await build(t, {}, { dataDir })
  t.match((await app.inject({ url: '/readyz' })).json(), { store: 'ok', config_error: /not valid YAML/ })
  t.match((await app.inject({ url: '/v1/config' })).json(), { origin: 'default', config: {} })
})

t.test('GET /v1/pools answers the same list until something changes, then at once what changed', async (t) => {
  const c = clockAt('2026-11-25T05:59:00Z')
  const { app } = await build(t, {}, { clock: c.clock })
  const pools = async () => (await app.inject({ url: '/v1/pools' })).json().items as Array<Record<string, any>>
  const gemini = async () => (await pools()).find((p) => p.pool === 'gemini')
  await configure(app, { concurrency: { gemini: 1 }, rates: { gemini: { daily_limit: 5, reset_utc: '06:00' } } })
  await put(app, 'core/p/1', report({ agent: 'gemini' }))
  t.match(await gemini(), { running: 1, daily: { started: 1, resets_at: '2026-11-25T06:00:00.000Z' }, backoff_until: null })
  const first = (await app.inject({ url: '/v1/pools' })).body
  t.equal((await app.inject({ url: '/v1/pools' })).body, first, 'nothing changed: the same answer')
  // A heartbeat changes no pool.
  t.equal((await app.inject({ method: 'POST', url: '/v1/workspaces/core/p/1/heartbeat' })).statusCode, 200)
  t.equal((await app.inject({ url: '/v1/pools' })).body, first, 'a heartbeat changes nothing a pool shows')
  // A workspace's change shows at once.
  await put(app, 'core/p/1', report({ agent: 'gemini', status: 'completed' }))
  t.match(await gemini(), { running: 0, tracked: 1 })
  // A backoff shows at once, and is gone once its time has passed, without any other change.
  t.equal((await app.inject({ method: 'PUT', url: '/v1/pools/gemini/backoff', payload: { seconds: 30, reason: 'test' } })).statusCode, 200)
  t.match(await gemini(), { backoff_until: '2026-11-25T05:59:30.000Z', admissible: false })
  c.advance(29)
  t.match(await gemini(), { backoff_until: '2026-11-25T05:59:30.000Z' }, 'still backed off a second before')
  c.advance(1)
  t.match(await gemini(), { backoff_until: null, admissible: true }, 'the backoff ended with its time')
  // The budget day turns at reset_utc: the count starts again and the next reset moves a day on.
  c.advance(29)
  t.match(await gemini(), { daily: { started: 1, resets_at: '2026-11-25T06:00:00.000Z' } })
  c.advance(1)
  t.match(await gemini(), { daily: { started: 0, resets_at: '2026-11-26T06:00:00.000Z' } }, 'the day turned with the clock')
  // The configuration shows at once.
  await configure(app, { concurrency: { gemini: 4 } })
  t.match(await gemini(), { limit: 4 })
})
