/**
 * Deletion records after a degraded start (issue 11). A service that starts without its store serves what
 * the status.json files say, judged against nothing: the store's records and deletion records are out of
 * reach. When the store opens, the state served becomes the store's, with its deletions, and a file wins
 * only where it would at any start (with evidence the store never saw); nothing the files said that the
 * store contradicts is written back into the store.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, put, report, storedGroup, until } from './helper.js'
import { findFolders } from '../src/store/service/periodic.js'

const folder = (dataDir: string, name: string): string => {
  const dir = join(dataDir, 'workspace', ...name.split('/'))
  mkdirSync(dir, { recursive: true })
  return dir
}

t.test('a store that opens after a degraded start brings its deletions and newer records back over the files', async (t) => {
  const { app, dataDir } = await build(t)
  for (const name of ['core/a/gone', 'core/a/again', 'core/a/stale', 'core/a/newer', 'core/a/file-only']) folder(dataDir, name)
  // Folders made while the service runs are found by the periodic pass (or the next start-up).
  findFolders(app.service)
  // Deleted through the API; its status.json stays on the volume.
  t.equal((await put(app, 'core/a/gone', report({ status: 'completed' }))).statusCode, 201)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/gone' })).statusCode, 204)
  // Deleted and re-created with a lower runs; the file still says what the first life said.
  await put(app, 'core/a/again', report({ status: 'completed', runs: 2 }))
  const firstLife = readFileSync(join(dataDir, 'workspace/core/a/again/status.json'), 'utf8')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/again' })).statusCode, 204)
  t.equal((await put(app, 'core/a/again', report({ status: 'queued', runs: 1 }))).statusCode, 201)
  // The store is newer than the file: a rewrite of status.json failed after the first report.
  await put(app, 'core/a/stale', report({ status: 'running', note: 'first' }))
  const olderFile = readFileSync(join(dataDir, 'workspace/core/a/stale/status.json'), 'utf8')
  await put(app, 'core/a/stale', report({ status: 'blocked', question: 'which branch?', note: 'second' }))
  await put(app, 'core/a/newer', report({ status: 'running', runs: 1 }))
  await app.close()
  writeFileSync(join(dataDir, 'workspace/core/a/stale/status.json'), olderFile)
  writeFileSync(join(dataDir, 'workspace/core/a/again/status.json'), firstLife)
  // The file is newer than the store: the agent started run 2 while the service was down.
  writeFileSync(join(dataDir, 'workspace/core/a/newer/status.json'), JSON.stringify({ status: 'running', agent: 'codex', runs: 2, updated_at: new Date().toISOString() }))
  writeFileSync(join(dataDir, 'workspace/core/a/file-only/status.json'), JSON.stringify({ status: 'queued', agent: 'codex', runs: 0 }))

  // The store is out of reach at start-up: its file moved aside, something unreadable in its place.
  const store = join(dataDir, '.core', 'db.duckdb')
  t.notOk(existsSync(`${store}.wal`), 'the closed store is one file')
  renameSync(store, `${store}.aside`)
  writeFileSync(store, 'not a DuckDB file '.repeat(200))
  const { app: degraded } = await build(t, { STORE_RETRY_S: '1' }, { dataDir })
  const get = async (name: string) => await degraded.inject({ url: `/v1/workspaces/${name}` })
  t.equal((await degraded.inject({ url: '/readyz' })).json().store, 'degraded', 'a degraded start')
  // Without the store the files are all there is, and they are served as found: the deleted workspace among them.
  t.equal((await get('core/a/gone')).statusCode, 200, 'while degraded, the files are served as found')
  t.match((await get('core/a/stale')).json(), { note: 'first' })
  t.match((await get('core/a/again')).json(), { status: 'completed', runs: 2 })

  rmSync(store)
  renameSync(`${store}.aside`, store)
  await until('the store to open', async () => (await degraded.inject({ url: '/readyz' })).json().store === 'ok')
  t.equal((await get('core/a/gone')).statusCode, 404, 'the store\'s deletion holds again')
  t.match((await get('core/a/again')).json(), { status: 'queued', runs: 1 }, 'and so does the re-create with a lower runs')
  t.match((await get('core/a/stale')).json(), { status: 'blocked', note: 'second' }, 'the store\'s newer record replaces the older file')
  t.match((await get('core/a/newer')).json(), { status: 'running', runs: 2 }, 'a provably newer file still wins')
  t.match((await get('core/a/file-only')).json(), { status: 'queued' }, 'a workspace only the files know stays')
  t.equal((await degraded.inject({ url: '/v1/status' })).json().total, 4, 'the counts are the rebuilt ones')
  await degraded.close()

  const registry = await storedGroup(dataDir, 'registry')
  t.same([...registry.keys()].sort(), ['core/a/again', 'core/a/file-only', 'core/a/newer', 'core/a/stale'], 'the deleted workspace was not written back')
  t.match(registry.get('core/a/again'), { status: 'queued', runs: 1 })
  t.match(registry.get('core/a/stale'), { note: 'second' })
  t.same([...(await storedGroup(dataDir, 'stamp')).keys()], ['core/a/again', 'core/a/gone'], 'the stamps are kept while their files are there')

  const { app: again } = await build(t, {}, { dataDir })
  t.equal((await again.inject({ url: '/v1/workspaces/core/a/gone' })).statusCode, 404, 'and it stays deleted at the next start')
  t.match((await again.inject({ url: '/v1/workspaces/core/a/again' })).json(), { status: 'queued', runs: 1 })
})
