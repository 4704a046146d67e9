/**
 * REAPER_PID_CHECK=host, as the container image sets it: the service and its agents are in different PID
 * namespaces, so a PID means something only when the workspace names this host.
 */
import { hostname } from 'node:os'
import t from 'tap'
import { build, deadPid, put, report } from './helper.js'

const reap = async (app: Awaited<ReturnType<typeof build>>['app']): Promise<string[]> =>
  (await app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped.map((g: { name: string }) => g.name)

t.test('with REAPER_PID_CHECK=host a PID without a host is never checked; one naming this host is', async (t) => {
  const { app } = await build(t, { REAPER_PID_CHECK: 'host' })
  const pid = deadPid()
  await put(app, 'core/a/no-host', report({ pid }))
  await put(app, 'core/a/this-host', report({ pid, host: hostname() }))
  await put(app, 'core/a/other-host', report({ pid, host: `not-${hostname()}` }))
  t.same(await reap(app), ['core/a/this-host'])
  const reaped = (await app.inject({ url: '/v1/workspaces/core/a/this-host' })).json().reaped
  t.same(Object.keys(reaped).sort(), ['at', 'evidence', 'reason'], 'exactly the documented fields')
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/no-host' })).json().status, 'running', 'left to its lease')
})

t.test('the default, local, still takes a PID without a host as this host\'s', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/a/no-host', report({ pid: deadPid() }))
  t.same(await reap(app), ['core/a/no-host'])
})

t.test('a lease still expires with REAPER_PID_CHECK=host', async (t) => {
  let now = Date.parse('2026-11-25T10:00:00Z')
  const { app } = await build(t, { REAPER_PID_CHECK: 'host', LEASE_S: '60' }, { clock: () => new Date(now) })
  await put(app, 'core/a/quiet', report({ pid: deadPid() }))
  t.same(await reap(app), [])
  now += 61_000
  t.same(await reap(app), ['core/a/quiet'])
})
