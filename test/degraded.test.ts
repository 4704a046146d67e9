import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, json, put, report, storedGroup, until } from './helper.js'
import { spawnService, startService } from './child.js'

t.test('with a corrupt store the service serves reads, refuses every write with 503, and takes writes once the store is back', async (t) => {
  const dataDir = t.testdir()
  mkdirSync(join(dataDir, '.core'))
  const file = join(dataDir, '.core', 'db.duckdb')
  writeFileSync(file, 'this is not a DuckDB file '.repeat(200))
  const { app } = await build(t, { STORE_RETRY_S: '1' }, { dataDir })

  const ready = (await app.inject({ url: '/readyz' })).json()
  t.equal(ready.store, 'degraded')
  t.notMatch(ready.error, dataDir, '/readyz names no path')
  t.match((await app.inject({ url: '/v1/recovery' })).json().store, { mode: 'degraded' })
  t.match((await app.inject({ url: '/metrics' })).body, /agent_state_store_up 0/)

  const res = await put(app, 'core/go-io/task-5', report({ status: 'queued', runs: 0 }))
  t.equal(res.statusCode, 503, 'a write that cannot be stored is not acknowledged')
  t.equal(res.json().code, 'store_unavailable')
  t.equal(res.headers['retry-after'], '1')
  t.match(res.headers['content-type'], 'application/problem+json')
  t.equal((await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })).statusCode, 404, 'and changed nothing')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/x/y' })).statusCode, 503)
  t.equal((await app.inject({ method: 'POST', url: '/v1/sync/queue', ...json({ agent_id: 'a', dispatches: [{ workspace: 'core/x/y', status: 'completed' }] }) })).statusCode, 503)
  t.equal((await app.inject({ url: '/v1/status' })).statusCode, 200, 'reads are served')

  // The operator moves the corrupt file aside; the next retry opens a fresh store.
  renameSync(file, file + '.corrupt')
  await until('the store to reopen', async () => (await app.inject({ url: '/readyz' })).json().store === 'ok')
  const after = await put(app, 'core/go-io/task-6', report())
  t.equal(after.statusCode, 201)
  t.equal(after.headers['x-store'], 'ok')
  await app.close()
  t.same([...(await storedGroup(dataDir, 'registry')).keys()], ['core/go-io/task-6'])
})

t.test('a store that opens late is merged: what only it knew comes back, what start-up read from files stays', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/a/only-in-store', report())
  await app.close()
  // Make the folder unusable: the store cannot be opened while `.core` is moved away and replaced by a file.
  renameSync(join(dataDir, '.core'), join(dataDir, '.core-aside'))
  writeFileSync(join(dataDir, '.core'), 'not a folder')
  mkdirSync(join(dataDir, 'workspace', 'core', 'a', 'from-file'), { recursive: true })
  writeFileSync(join(dataDir, 'workspace', 'core', 'a', 'from-file', 'status.json'), JSON.stringify({ status: 'blocked', agent: 'codex', runs: 2, updated_at: '2026-01-01T00:00:00Z' }))
  const again = await build(t, { STORE_RETRY_S: '1' }, { dataDir })
  t.equal((await again.app.inject({ url: '/readyz' })).json().store, 'degraded')
  t.equal((await put(again.app, 'core/a/both', report({ note: 'new' }))).statusCode, 503)
  rmSync(join(dataDir, '.core'))
  renameSync(join(dataDir, '.core-aside'), join(dataDir, '.core'))
  await until('the store to reopen', async () => (await again.app.inject({ url: '/readyz' })).json().store === 'ok')
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/only-in-store' })).statusCode, 200)
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/from-file' })).json().status, 'blocked')
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/both' })).statusCode, 404)
  await again.app.close()
  const stored = await storedGroup(dataDir, 'registry')
  t.same([...stored.keys()], ['core/a/from-file', 'core/a/only-in-store'], 'what start-up read from a file while degraded is stored once the store is back')
})

t.test('a second instance on the same data folder exits at once, naming the file', async (t) => {
  const dataDir = t.testdir()
  const first = await startService(t, { DATA_DIR: dataDir })
  const second = spawnService(t, { DATA_DIR: dataDir })
  second.listening.catch(() => {})
  const code = await second.exited
  t.equal(code, 1)
  t.match(second.stderr, `${join(dataDir, '.core', 'db.duckdb')} is locked by another process`)
  t.equal((await fetch(`${first.url}/readyz`)).status, 200, 'the first instance is unaffected')
  first.proc.kill('SIGTERM')
  t.equal(await first.exited, 0, 'SIGTERM stops cleanly with exit 0')
})
