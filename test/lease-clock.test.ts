/** Issue 11, case 12: the lease clock starts when the service can take heartbeats, not when the app is built. */
import t from 'tap'
import { build, put, report } from './helper.js'

t.test('a slow start-up does not eat the lease of a healthy agent', async (t) => {
  const { app, dataDir } = await build(t, { LEASE_S: '60' })
  await put(app, 'core/a/remote', report({ host: 'elsewhere' }))
  await app.close()
  // A clock that moves 30 s on every reading: start-up reads it many times, so it "takes" minutes.
  let now = Date.now()
  const slow = () => new Date(now += 30_000)
  const again = await build(t, { LEASE_S: '60' }, { dataDir, clock: slow })
  const recovery = (await again.app.inject({ url: '/v1/recovery' })).json()
  t.ok(Date.parse(recovery.finished_at) - Date.parse(recovery.started_at) > 60_000, 'start-up took longer than the lease')
  t.same(recovery.reaped, [], 'no lease expired during start-up')
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/remote' })).json().status, 'running')
  now += 120_000
  t.match((await again.app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped, [{ name: 'core/a/remote', reason: 'lease_expired' }], 'a lease still expires once the service is up')
})
