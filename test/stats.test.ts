/** GET /v1/stats/runs against figures computed by hand from a history made through the API. */
import t, { type Test } from 'tap'
import { build, put, report } from './helper.js'

const T0 = Date.parse('2026-11-30T10:00:00.000Z')

/** A history with known durations and outcomes: 7 runs over two hours, three models, one reaped. */
async function seeded (t: Test) {
  let now = T0
  const at = (s: number) => { now = T0 + s * 1000 }
  const { app } = await build(t, { LEASE_S: '600', REAPER_PID_CHECK: 'off', AUTH_TOKENS: 'reader-token-0001:read,writer-token-0001:write,admin-token-00001:admin' }, { clock: () => new Date(now) })
  const w = { authorization: 'Bearer writer-token-0001' }
  const run = (leaf: string, agent: string, extra: Record<string, unknown> = {}) => put(app, `core/api/${leaf}`, report({ agent, ...extra }), w)
  for (const leaf of ['a1', 'a2', 'a3', 'a4']) await run(leaf, 'codex:gpt-5.4')
  for (const [leaf, s, status] of [['a1', 10, 'completed'], ['a2', 20, 'merged'], ['a3', 30, 'failed'], ['a4', 40, 'blocked']] as const) {
    at(s)
    await run(leaf, 'codex:gpt-5.4', { status })
  }
  at(3000); await run('b1', 'claude:opus')
  at(3100); await run('b1', 'claude:opus', { status: 'completed' })
  at(3600); await run('b2', 'claude:opus'); await run('g1', 'gemini')
  at(3900); await run('b2', 'claude:opus', { status: 'failed' })
  at(4200)
  t.equal((await app.inject({ method: 'POST', url: '/v1/reap', headers: { authorization: 'Bearer admin-token-00001' } })).json().reaped.length, 1)
  at(7200)
  const stats = async (query: string, headers: Record<string, string> = {}) =>
    app.inject({ url: `/v1/stats/runs${query}`, headers: { authorization: 'Bearer reader-token-0001', ...headers } })
  return { app, stats }
}

const round = (g: Record<string, number | string>) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v]))

t.test('by model, by hour, by day, filters and the range', async (t) => {
  const { stats } = await seeded(t)

  const byModel = await stats('?by=model')
  t.equal(byModel.statusCode, 200)
  t.match(byModel.json(), { since: '2026-11-23T12:00:00.000Z', until: '2026-11-30T12:00:00.000Z', by: 'model' })
  t.same(byModel.json().groups.map(round), [
    { key: '', count: 1, completed: 0, failed: 0, reaped: 1, other: 0, success_rate: 0, p50_s: 600, p95_s: 600, max_s: 600 },
    { key: 'gpt-5.4', count: 4, completed: 2, failed: 1, reaped: 0, other: 1, success_rate: 0.5, p50_s: 25, p95_s: 38.5, max_s: 40 },
    { key: 'opus', count: 2, completed: 1, failed: 1, reaped: 0, other: 0, success_rate: 0.5, p50_s: 200, p95_s: 290, max_s: 300 }
  ])

  t.same((await stats('?by=hour')).json().groups.map(round), [
    { key: '2026-11-30T10:00:00Z', count: 5, completed: 3, failed: 1, reaped: 0, other: 1, success_rate: 0.6, p50_s: 30, p95_s: 88, max_s: 100 },
    { key: '2026-11-30T11:00:00Z', count: 2, completed: 0, failed: 1, reaped: 1, other: 0, success_rate: 0, p50_s: 450, p95_s: 585, max_s: 600 }
  ])
  t.same((await stats('?by=pool&since=2026-11-30T11:00:00Z')).json().groups.map((g: { key: string, count: number }) => [g.key, g.count]), [['claude', 1], ['gemini', 1]])
  t.same((await stats('?by=day&until=2026-11-30T10:00:30Z')).json().groups.map((g: { key: string, count: number }) => [g.key, g.count]), [['2026-11-30', 2]])
  t.same((await stats('?by=repo')).json().groups.map((g: { key: string, count: number }) => [g.key, g.count]), [['core/api', 7]])
  t.same((await stats('?by=agent&pool=claude')).json().groups.map((g: { key: string }) => g.key), ['claude:opus'])
  t.same((await stats('?pool=claude&model=opus')).json().groups.map(round), [
    { key: 'all', count: 2, completed: 1, failed: 1, reaped: 0, other: 0, success_rate: 0.5, p50_s: 200, p95_s: 290, max_s: 300 }
  ])
  t.same((await stats('?host=elsewhere')).json().groups, [], 'no runs: no groups')
  t.same((await stats('?since=2026-11-30T12:00:00Z&until=2026-12-01T00:00:00Z&by=model')).json().groups, [])
})

t.test('the text table, refusals and scope', async (t) => {
  const { stats } = await seeded(t)
  const text = await stats('?by=model&format=text')
  t.equal(text.headers['content-type'], 'text/plain; charset=utf-8')
  const lines = text.body.split('\n')
  t.match(lines[0], /^MODEL\s+COUNT\s+COMPLETED\s+FAILED\s+REAPED\s+OTHER\s+SUCCESS\s+P50_S\s+P95_S\s+MAX_S$/)
  t.match(lines[2], /^gpt-5\.4\s+4\s+2\s+1\s+0\s+1\s+50\.0%\s+25\.0\s+38\.5\s+40\.0$/)
  t.match(text.body, /runs ended from 2026-11-23T12:00:00.000Z until 2026-11-30T12:00:00.000Z/)
  t.match((await stats('?by=pool', { accept: 'text/plain' })).body, /^POOL/)

  for (const [query, code] of [
    ['?since=2026-11-30T12:00:00Z&until=2026-11-30T11:00:00Z', 'invalid_range'],
    ['?by=weekday', 'validation_failed'],
    ['?since=yesterday', 'validation_failed'],
    ['?pool=../etc', 'validation_failed'],
    ['?limit=5', 'validation_failed']
  ] as Array<[string, string]>) {
    const res = await stats(query)
    t.equal(res.statusCode, 400, query)
    t.equal(res.json().code, code, query)
  }
  t.equal((await stats('', { authorization: '' })).statusCode, 401)
})
