/** The reads the dashboard needs: whoami, the stored event log, running per pool over time and finished runs per hour. */
import t from 'tap'
import { build, put, report } from './helper.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A clock the test moves by hand; the service stamps reports and events with it. */
function manualClock (start: string) {
  let now = Date.parse(start)
  return { clock: () => new Date(now), to: (iso: string) => { now = Date.parse(iso) } }
}

t.test('whoami names the scope of the caller\'s token, or admin when open', async (t) => {
  const open = await build(t)
  t.same((await open.app.inject({ url: '/v1/whoami' })).json(), { auth: 'open', scope: 'admin', caller: 'open' })

  const { app } = await build(t, { AUTH_TOKENS: 'r-token-0123456789:read,w-token-0123456789:write,a-token-0123456789:admin' })
  t.equal((await app.inject({ url: '/v1/whoami' })).statusCode, 401, 'no token: the page must ask for one')
  t.equal((await app.inject({ url: '/v1/whoami', headers: bearer('nope') })).statusCode, 401)
  for (const [token, scope] of [['r-token-0123456789', 'read'], ['w-token-0123456789', 'write'], ['a-token-0123456789', 'admin']]) {
    const body = (await app.inject({ url: '/v1/whoami', headers: bearer(token as string) })).json()
    t.equal(body.auth, 'token')
    t.equal(body.scope, scope, `${token} is ${scope}`)
    t.match(body.caller, /^token:[0-9a-f]{8}$/)
  }
})

t.test('the event log pages stored events newest first, by subject and type', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/a/one', report())
  await put(app, 'core/a/two', report())
  await put(app, 'core/a/one', report({ status: 'completed' }))
  await app.inject({ method: 'PUT', url: '/v1/pools/codex/backoff', payload: { seconds: 60, reason: 'test' } })

  const one = (await app.inject({ url: '/v1/events/log?subject=core/a/one' })).json()
  t.same(one.items.map((e: { data: { status: string } }) => e.data.status), ['completed', 'running'], 'only its events, newest first')
  t.equal(one.next_cursor, null)

  const first = (await app.inject({ url: '/v1/events/log?type=workspace&limit=2' })).json()
  t.same(first.items.map((e: { subject: string }) => e.subject), ['core/a/one', 'core/a/two'])
  t.type(first.next_cursor, 'string')
  const rest = (await app.inject({ url: `/v1/events/log?type=workspace&limit=2&cursor=${first.next_cursor}` })).json()
  t.same(rest.items.map((e: { subject: string, data: { status: string } }) => [e.subject, e.data.status]), [['core/a/one', 'running']])
  t.equal(rest.next_cursor, null)

  const backoffs = (await app.inject({ url: '/v1/events/log?type=backoff,config' })).json()
  t.same(backoffs.items.map((e: { type: string, subject: string }) => [e.type, e.subject]), [['backoff', 'codex']])

  for (const q of ['type=nope', 'subject=%zz', 'subject=../x', 'limit=0']) {
    const bad = await app.inject({ url: `/v1/events/log?${q}` })
    t.equal(bad.statusCode, 400, q)
    t.equal(bad.json().code, 'validation_failed', q)
  }
  t.equal((await app.inject({ url: '/v1/events/log?cursor=xyz' })).json().code, 'invalid_cursor')
})

t.test('running per pool over time: the most running at once per bucket, anchored on today\'s counts', async (t) => {
  const c = manualClock('2026-11-25T10:00:00.000Z')
  const { app } = await build(t, { LEASE_S: '0', REAPER_PID_CHECK: 'off' }, { clock: c.clock })
  t.equal((await app.inject({ url: '/v1/stats/pools' })).json().first_event_at, null, 'no event stored yet')
  // 10:00 one codex run; 10:05 a second; 10:12 the first completes; 10:25 a claude run; 10:31 the codex one is deleted
  // while running; 10:33 the claude agent moves its running workspace to codex.
  await put(app, 'core/a/one', report())
  c.to('2026-11-25T10:05:00.000Z')
  await put(app, 'core/a/two', report())
  c.to('2026-11-25T10:12:00.000Z')
  await put(app, 'core/a/one', report({ status: 'completed' }))
  c.to('2026-11-25T10:25:00.000Z')
  await put(app, 'core/b/three', report({ agent: 'claude:opus' }))
  c.to('2026-11-25T10:31:00.000Z')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/two' })).statusCode, 204)
  c.to('2026-11-25T10:33:00.000Z')
  await put(app, 'core/b/three', report({ agent: 'codex:gpt-5.4' }))
  c.to('2026-11-25T10:40:00.000Z')

  const res = await app.inject({ url: '/v1/stats/pools?since=2026-11-25T09:50:00.000Z&step_s=600' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.step_s, 600)
  t.same(body.times, ['09:50', '10:00', '10:10', '10:20', '10:30'].map((hm) => `2026-11-25T${hm}:00.000Z`))
  t.same(body.pools.codex, [0, 2, 2, 1, 1], 'two at once from 10:05 until 10:12; then one; swapped for the moved one at 10:31/10:33')
  t.same(body.pools.claude, [0, 0, 0, 1, 1], 'the claude run from 10:25 until it moved at 10:33')
  t.equal(body.first_event_at, '2026-11-25T10:00:00.000Z', 'the series says where the stored events begin, so a chart of a young service starts there')

  // A window that starts after the first run: the level at its start comes from today's counts, not from zero.
  const late = (await app.inject({ url: '/v1/stats/pools?since=2026-11-25T10:20:00.000Z&step_s=600' })).json()
  t.same(late.pools.codex, [1, 1])
  t.same(late.pools.claude, [1, 1])

  for (const q of ['since=2026-11-25T11:00:00.000Z', 'since=2026-10-01T00:00:00.000Z', 'since=2026-11-25T00:00:00.000Z&step_s=10', 'since=yesterday', 'step_s=5']) {
    const r = await app.inject({ url: `/v1/stats/pools?${q}` })
    t.equal(r.statusCode, 400, q)
    t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
})

t.test('finished runs per hour by outcome, reaped apart from failed', async (t) => {
  const c = manualClock('2026-11-25T10:10:00.000Z')
  const { app } = await build(t, { LEASE_S: '60', REAPER_PID_CHECK: 'off' }, { clock: c.clock })
  for (const leaf of ['a', 'b', 'c', 'd', 'e']) await put(app, `core/x/${leaf}`, report())
  c.to('2026-11-25T10:20:00.000Z')
  await put(app, 'core/x/a', report({ status: 'completed' }))
  await put(app, 'core/x/b', report({ status: 'failed', question: 'tests fail' }))
  await put(app, 'core/x/c', report({ status: 'blocked', question: 'which DB?' }))
  c.to('2026-11-25T11:20:00.000Z')
  // Nothing heard from d and e for an hour: the reaper fails them (lease_expired).
  await put(app, 'core/x/e', report({ status: 'completed' }))
  const reaped = (await app.inject({ method: 'POST', url: '/v1/reap' })).json()
  t.same(reaped.reaped.map((g: { name: string }) => g.name), ['core/x/d'])
  c.to('2026-11-25T11:30:00.000Z')

  const body = (await app.inject({ url: '/v1/stats/finished?since=2026-11-25T00:00:00.000Z' })).json()
  t.same(body.items, [
    { hour: '2026-11-25T10:00:00.000Z', count: 3, completed: 1, failed: 1, reaped: 0, other: 1 },
    { hour: '2026-11-25T11:00:00.000Z', count: 2, completed: 1, failed: 0, reaped: 1, other: 0 }
  ])
  const none = (await app.inject({ url: '/v1/stats/finished?since=2026-11-25T11:25:00.000Z' })).json()
  t.same(none.items, [])
})
