/**
 * No file on the volume rolls the store back (issue 11, case 1; API §8.1): a status.json adds what the
 * store does not know and replaces a record only when provably newer; a deletion acknowledged through
 * the API stays a deletion. Also case 8: a leap second parses, in a file and in a body.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, put, report, rowCount } from './helper.js'
import { findFolders } from '../src/store/service/periodic.js'

const folder = (dataDir: string, name: string): string => {
  const dir = join(dataDir, 'workspace', ...name.split('/'))
  mkdirSync(dir, { recursive: true })
  return dir
}

const writeStatus = (dataDir: string, name: string, body: unknown): void => {
  writeFileSync(join(folder(dataDir, name), 'status.json'), JSON.stringify(body))
}

t.test('a workspace deleted through the API stays deleted after restarts, though its status.json is still there', async (t) => {
  const { app, dataDir } = await build(t)
  folder(dataDir, 'core/a/gone')
  // Folders made while the service runs are found by the periodic pass (or the next start-up).
  findFolders(app.service)
  t.equal((await put(app, 'core/a/gone', report({ status: 'completed' }))).statusCode, 201)
  const file = join(dataDir, 'workspace', 'core', 'a', 'gone', 'status.json')
  t.match(JSON.parse(readFileSync(file, 'utf8')), { status: 'completed' }, 'the service wrote the file')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/gone' })).statusCode, 204)
  await app.close()

  for (let restart = 1; restart <= 2; restart++) {
    const again = await build(t, {}, { dataDir })
    t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/gone' })).statusCode, 404, `still deleted after restart ${restart}`)
    await again.app.close()
  }

  // The agent starts a new run there: that file is provably newer than the deletion.
  writeStatus(dataDir, 'core/a/gone', { status: 'running', agent: 'codex', runs: 2, updated_at: new Date().toISOString() })
  const back = await build(t, {}, { dataDir })
  t.match((await back.app.inject({ url: '/v1/workspaces/core/a/gone' })).json(), { status: 'running', runs: 2 })
  await back.app.close()
  t.equal(await rowCount(dataDir, 'stamp'), 0, 'the stamp went once the record carried a higher runs and a later time')
})

t.test('a status.json the service failed to rewrite never brings an older state back', async (t) => {
  const { app, dataDir } = await build(t)
  const dir = folder(dataDir, 'core/a/stale')
  // Folders made while the service runs are found by the periodic pass (or the next start-up).
  findFolders(app.service)
  await put(app, 'core/a/stale', report({ status: 'running', note: 'first' }))
  const older = readFileSync(join(dir, 'status.json'), 'utf8')
  await put(app, 'core/a/stale', report({ status: 'blocked', question: 'which branch?', note: 'second' }))
  await app.close()
  // As if the second rewrite had failed (a folder owned by the agent's user): the file holds the first state.
  writeFileSync(join(dir, 'status.json'), older)
  // And a file without updated_at, on the same run, proves nothing by its date.
  writeStatus(dataDir, 'core/a/undated', { status: 'failed', agent: 'codex', runs: 1 })
  const again = await build(t, {}, { dataDir })
  t.match((await again.app.inject({ url: '/v1/workspaces/core/a/stale' })).json(), { status: 'blocked', note: 'second' })
  t.match((await again.app.inject({ url: '/v1/workspaces/core/a/undated' })).json(), { status: 'failed' }, 'an unknown workspace is added from its file')
  await put(again.app, 'core/a/undated', report({ status: 'completed', runs: 1 }))
  await again.app.close()
  rmSync(join(dataDir, 'workspace', 'core', 'a', 'undated', 'status.json'))
  writeStatus(dataDir, 'core/a/undated', { status: 'failed', agent: 'codex', runs: 1 })
  const third = await build(t, {}, { dataDir })
  t.match((await third.app.inject({ url: '/v1/workspaces/core/a/undated' })).json(), { status: 'completed' }, 'an undated file on the stored run does not replace the record')
})

t.test('deletion records are kept only while a status.json could bring the workspace back', async (t) => {
  const { app, dataDir } = await build(t)
  folder(dataDir, 'core/a/with-file')
  // Folders made while the service runs are found by the periodic pass (or the next start-up).
  findFolders(app.service)
  for (const name of ['core/a/with-file', 'core/a/no-folder']) {
    await put(app, name, report())
    await app.inject({ method: 'DELETE', url: `/v1/workspaces/${name}` })
  }
  await app.close()
  t.equal(await rowCount(dataDir, 'stamp'), 2)
  const again = await build(t, {}, { dataDir })
  await again.app.close()
  t.equal(await rowCount(dataDir, 'stamp'), 1, 'the one without a file is forgotten at start-up')
})

t.test('a leap second is a valid time, in a status.json and in a body', async (t) => {
  const dataDir = t.testdir()
  writeStatus(dataDir, 'core/a/leap', { status: 'running', agent: 'codex', runs: 1, updated_at: '2016-12-31T23:59:60Z', started_at: '2016-12-31T23:59:60.5Z' })
  const { app } = await build(t, { LEASE_S: '0', REAPER_PID_CHECK: 'off' }, { dataDir })
  t.match((await app.inject({ url: '/v1/workspaces/core/a/leap' })).json(), { updated_at: '2016-12-31T23:59:59.999Z', started_at: '2016-12-31T23:59:59.999Z' })
  const res = await put(app, 'core/a/body', report({ started_at: '2016-12-31T23:59:60Z', pid_started_at: '2016-12-31T23:59:60Z' }))
  t.equal(res.statusCode, 201)
  t.match(res.json(), { started_at: '2016-12-31T23:59:59.999Z', pid_started_at: '2016-12-31T23:59:59.999Z' })
})
