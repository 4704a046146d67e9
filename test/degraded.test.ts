import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, put, report, storedGroup, until } from './helper.js'
import { spawnService, startService } from './child.js'

t.test('with a corrupt store the service answers from memory, says so, and stores it all once the store is back', async (t) => {
  const dataDir = t.testdir()
  mkdirSync(join(dataDir, '.core'))
  const file = join(dataDir, '.core', 'db.duckdb')
  writeFileSync(file, 'this is not a DuckDB file '.repeat(200))
  const { app } = await build(t, { STORE_RETRY_S: '1' }, { dataDir })

  const ready = (await app.inject({ url: '/readyz' })).json()
  t.equal(ready.store, 'degraded')
  t.type(ready.error, 'string')
  t.match((await app.inject({ url: '/v1/recovery' })).json().store, { mode: 'degraded' })

  const res = await put(app, 'core/go-io/task-5', report({ status: 'queued', runs: 0 }))
  t.equal(res.statusCode, 201, 'writes are still accepted')
  t.equal(res.headers['x-store'], 'degraded')
  t.equal((await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })).json().status, 'queued')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/x/y' })).headers['x-store'], 'degraded')

  // The operator moves the corrupt file aside; the next retry opens a fresh store and writes what memory holds.
  renameSync(file, file + '.corrupt')
  await until('the store to reopen', async () => (await app.inject({ url: '/readyz' })).json().store === 'ok')
  const after = await put(app, 'core/go-io/task-6', report())
  t.equal(after.headers['x-store'], 'ok')
  await app.close()
  t.same([...(await storedGroup(dataDir, 'registry')).keys()], ['core/go-io/task-5', 'core/go-io/task-6'])
  t.same([...(await storedGroup(dataDir, 'queue')).keys()], ['core/go-io/task-5'])
})

t.test('a store that opens late is merged: records only it knew come back, memory wins for the rest', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/a/only-in-store', report())
  await put(app, 'core/a/both', report({ note: 'old' }))
  await app.close()
  // Make the folder unusable: the store cannot be opened while `.core` is moved away and replaced by a file.
  renameSync(join(dataDir, '.core'), join(dataDir, '.core-aside'))
  writeFileSync(join(dataDir, '.core'), 'not a folder')
  const again = await build(t, { STORE_RETRY_S: '1' }, { dataDir })
  t.equal((await again.app.inject({ url: '/readyz' })).json().store, 'degraded')
  await put(again.app, 'core/a/both', report({ note: 'new' }))
  rmSync(join(dataDir, '.core'))
  renameSync(join(dataDir, '.core-aside'), join(dataDir, '.core'))
  await until('the store to reopen', async () => (await again.app.inject({ url: '/readyz' })).json().store === 'ok')
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/only-in-store' })).statusCode, 200)
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/both' })).json().note, 'new')
  await again.app.close()
  const stored = await storedGroup(dataDir, 'registry')
  t.equal((stored.get('core/a/both') as { note: string }).note, 'new')
  t.ok(stored.has('core/a/only-in-store'))
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
