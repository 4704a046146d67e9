/**
 * No file on the volume undoes an acknowledged write (issue 21, case 2; API §8.1). The service wrote
 * `completed, runs 2` into a workspace folder that then became unwritable to it (the realistic case: the
 * service runs as another user than the agent); a DELETE and a re-create with `queued, runs 1` were
 * acknowledged, and the restart served `completed, runs 2` again, because the stale file's runs was
 * higher. A file now wins only with evidence the store has never seen: a runs above any it acknowledged
 * for the name, or a date after every acknowledged change to it (the stamp kept across deletions).
 */
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startService, type RunAs, type Service } from './child.js'
import { call, dataDirOf, serviceUser, workspaceFolder } from './faults.js'
import { build, put, report, until } from './helper.js'

const user = serviceUser()
const runAs = 'runAs' in user ? user.runAs : undefined

const get = async (svc: Service, name: string): Promise<unknown> => (await call(svc.url, 'GET', `/v1/workspaces/${name}`)).body

t.test('a DELETE and a re-create with a lower runs hold at restart, though the stale file stays in a folder the service cannot write', { skip: 'skip' in user ? user.skip : false }, async (t) => {
  const service = runAs as RunAs
  const dataDir = dataDirOf(t, service)
  const folder = workspaceFolder(dataDir, 'core/a/w', service)
  const file = join(folder, 'status.json')
  const env = { DATA_DIR: dataDir, REAPER_PID_CHECK: 'off' }
  const start = async (): Promise<Service> => await startService(t, env, undefined, service)

  let svc = await start()
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/core/a/w', { status: 'completed', agent: 'codex', runs: 2 })).status, 201)
  t.match(JSON.parse(readFileSync(file, 'utf8')), { status: 'completed', runs: 2 }, 'the service wrote the file into its folder')
  // The folder becomes the agent's: root's, mode 0755.
  chownSync(folder, 0, 0)
  t.equal((await call(svc.url, 'DELETE', '/v1/workspaces/core/a/w')).status, 204)
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/core/a/w', { status: 'queued', agent: 'codex', runs: 1 })).status, 201)
  await until('the rewrite fails with EACCES', () => svc.logs.some((l) => l.msg === 'could not rewrite status.json' && (l.err as { code?: string } | undefined)?.code === 'EACCES'))
  t.match(JSON.parse(readFileSync(file, 'utf8')), { status: 'completed', runs: 2 }, 'the stale file stays')
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0)

  for (const restart of [1, 2]) {
    svc = await start()
    t.match(await get(svc, 'core/a/w'), { status: 'queued', runs: 1 }, `restart ${restart}: the re-create holds, the delete was not undone`)
    svc.proc.kill('SIGTERM')
    t.equal(await svc.exited, 0)
  }

  // The agent kept working while the service was down: what it wrote then is news, and wins.
  writeFileSync(file, JSON.stringify({ status: 'running', agent: 'codex', runs: 1, updated_at: new Date().toISOString() }))
  svc = await start()
  t.match(await get(svc, 'core/a/w'), { status: 'running', runs: 1 }, 'a file written after the last acknowledged change wins')

  // Delete, re-create lower, and a kill before anything else: the agent's file is older than both.
  t.equal((await call(svc.url, 'DELETE', '/v1/workspaces/core/a/w')).status, 204)
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/core/a/w', { status: 'queued', agent: 'codex', runs: 0, note: 'after the kill' })).status, 201)
  await svc.kill('SIGKILL')
  svc = await start()
  t.match(await get(svc, 'core/a/w'), { status: 'queued', runs: 0, note: 'after the kill' }, 'a kill -9 changes nothing')
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0)
})

const writeStatus = (dataDir: string, name: string, body: unknown): void => {
  const dir = join(dataDir, 'workspace', ...name.split('/'))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'status.json'), JSON.stringify(body))
}

/** A clock the test sets, for the app's own times. */
const clockAt = (iso: string): { now: () => Date, set: (iso: string) => void } => {
  let at = Date.parse(iso)
  return { now: () => new Date(at), set: (next) => { at = Date.parse(next) } }
}

t.test('a file dated ahead of the clock proves nothing, then or once the clock has passed its date', async (t) => {
  const clock = clockAt('2026-11-01T10:00:00.000Z')
  const { app, dataDir } = await build(t, {}, { clock: clock.now })
  await put(app, 'core/a/skew', report({ status: 'running', runs: 1, note: 'stored' }))
  await app.close()
  // A status.json an hour ahead of the service's clock, on the stored run, with a note of its own; the
  // service cannot rewrite it (as if its folder were the agent's: the test writes it after every start).
  const ahead = { status: 'running', agent: 'codex:gpt-5.4', runs: 1, note: 'from the file', updated_at: '2026-11-01T11:00:00.000Z' }
  writeStatus(dataDir, 'core/a/skew', ahead)

  const second = await build(t, {}, { dataDir, clock: clock.now })
  t.match((await second.app.inject({ url: '/v1/workspaces/core/a/skew' })).json(), { note: 'stored' }, 'a date in the future is no evidence')
  clock.set('2026-11-01T10:10:00.000Z')
  t.equal((await put(second.app, 'core/a/skew', report({ status: 'running', runs: 1, note: 'acknowledged at 10:10' }))).statusCode, 200)
  await second.app.close()
  writeStatus(dataDir, 'core/a/skew', ahead)

  clock.set('2026-11-01T12:00:00.000Z')
  const third = await build(t, {}, { dataDir, clock: clock.now })
  t.match((await third.app.inject({ url: '/v1/workspaces/core/a/skew' })).json(), { note: 'acknowledged at 10:10' }, 'once the clock passed its date, the same file is still no news')
})

t.test('a file with a runs above any the store acknowledged wins, whatever its date', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/a/ahead', report({ status: 'running', runs: 3 }))
  await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/ahead' })
  await put(app, 'core/a/ahead', report({ status: 'queued', runs: 1 }))
  await app.close()
  // Dated before every write above: only its runs is news.
  writeStatus(dataDir, 'core/a/ahead', { status: 'running', agent: 'codex', runs: 3, updated_at: '2020-01-01T00:00:00Z' })
  const again = await build(t, {}, { dataDir })
  t.match((await again.app.inject({ url: '/v1/workspaces/core/a/ahead' })).json(), { status: 'queued', runs: 1 }, 'runs 3 was acknowledged once: not news')
  await again.app.close()
  writeStatus(dataDir, 'core/a/ahead', { status: 'running', agent: 'codex', runs: 4, updated_at: '2020-01-01T00:00:00Z' })
  const third = await build(t, {}, { dataDir })
  t.match((await third.app.inject({ url: '/v1/workspaces/core/a/ahead' })).json(), { status: 'running', runs: 4 }, 'runs 4 never was: it wins')
})
