import t from 'tap'
import { build, put, report, storedGroup } from './helper.js'

t.test('everything survives a restart on the same data folder', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/go-io/task-1', report({ status: 'queued', runs: 0, priority: 5 }))
  await put(app, 'core/go-io/task-2', report({ agent: 'codex:gpt-5.4-mini', pid: process.pid }))
  await put(app, 'core/go-io/task-3', report({ status: 'blocked', agent: 'claude', question: 'which branch?' }))
  await put(app, 'core/go-io/task-4', report())
  await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/go-io/task-4' })
  const before = {
    list: (await app.inject({ url: '/v1/workspaces' })).json(),
    status: (await app.inject({ url: '/v1/status' })).json(),
    one: await app.inject({ url: '/v1/workspaces/core/go-io/task-2' })
  }
  await app.close()

  const again = await build(t, {}, { dataDir })
  t.same((await again.app.inject({ url: '/v1/workspaces' })).json(), before.list)
  t.same((await again.app.inject({ url: '/v1/status' })).json(), before.status)
  const one = await again.app.inject({ url: '/v1/workspaces/core/go-io/task-2' })
  t.equal(one.headers.etag, before.one.headers.etag, 'ETags are stable across restarts')
  t.match((await again.app.inject({ url: '/v1/concurrency' })).json(), { codex: { running: 1, tracked: 2 }, claude: { running: 0, tracked: 1 } })
  const fenced = await put(again.app, 'core/go-io/task-2', report({ runs: 0 }))
  t.equal(fenced.statusCode, 409, 'fencing holds after a restart')
  await again.app.close()
  const events = await storedGroup(dataDir, 'event')
  t.equal(events.size, 5, 'one event per change, numbered across restarts')
})

t.test('event ids keep growing across restarts', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/a/b', report())
  await app.close()
  const again = await build(t, {}, { dataDir })
  await put(again.app, 'core/a/b', report({ status: 'completed' }))
  await again.app.close()
  const ids = [...(await storedGroup(dataDir, 'event')).values()].map((e) => (e as { id: number }).id)
  t.equal(ids.length, 2)
  t.ok((ids[1] as number) > (ids[0] as number))
})

t.test('200 concurrent PUTs to distinct workspaces are all stored and counted exactly', async (t) => {
  const { app, dataDir } = await build(t)
  const agents = ['codex:gpt-5.4', 'codex:gpt-5.4-mini', 'claude:opus', 'gemini']
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    put(app, `load/repo-${i % 7}/task-${i}`, report({ agent: agents[i % 4], status: i % 5 === 0 ? 'queued' : 'running', runs: i % 5 === 0 ? 0 : 1 }))))
  t.same(results.map((r) => r.statusCode), Array(200).fill(201))
  t.ok(app.service.writer.stats.commits < 200, `group commit batched 200 writes into ${app.service.writer.stats.commits} statements`)
  const status = (await app.inject({ url: '/v1/status' })).json()
  t.equal(status.total, 200)
  t.equal(status.by_status.queued, 40)
  t.equal(status.by_status.running, 160)
  const snap = (await app.inject({ url: '/v1/concurrency' })).json()
  t.same(Object.fromEntries(Object.entries(snap).map(([k, v]) => [k, [(v as { running: number }).running, (v as { tracked: number }).tracked]])),
    { claude: [40, 50], codex: [80, 100], gemini: [40, 50] })
  await app.close()
  t.equal((await storedGroup(dataDir, 'registry')).size, 200)
  t.equal((await storedGroup(dataDir, 'queue')).size, 40)
  t.equal((await storedGroup(dataDir, 'event')).size, 200)
})

t.test('close checkpoints: the file stands alone without a WAL', async (t) => {
  const { existsSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { app, dataDir } = await build(t)
  await put(app, 'core/a/b', report())
  await app.close()
  t.ok(existsSync(join(dataDir, '.core', 'db.duckdb')))
  t.notOk(existsSync(join(dataDir, '.core', 'db.duckdb.wal')), 'no WAL left after a clean close')
})
