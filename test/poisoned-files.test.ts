/**
 * No file and no body can stop every write (issue 21, case 1). A status.json with `runs: 3000000000`
 * (or `1e300`) was loaded, reaped once its lease ran out, and its run's history row (`runs` is an
 * INTEGER) failed the group commit it rode in, for good: every PUT 503, SIGTERM exit 1, still degraded
 * after a restart, and nothing named the file. A body could do the same with a `started_at` that an
 * offset carries into year 10000, and a file dated `…Z[Europe/Paris]` (RFC 9557) stopped the start.
 * Every field a file or a body supplies now has the report's bounds; what breaks them is refused and
 * named, and what the store was given by an earlier version no longer poisons a commit.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startService, type Service } from './child.js'
import { call } from './faults.js'
import { build, put, report, until } from './helper.js'

const writeStatus = (dataDir: string, name: string, body: unknown): void => {
  const dir = join(dataDir, 'workspace', ...name.split('/'))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'status.json'), JSON.stringify(body))
}

const get = async (svc: Service, name: string) => await call(svc.url, 'GET', `/v1/workspaces/${name}`)

t.test('a status.json with a runs past the bounds is named as invalid and cannot stop the writes', async (t) => {
  const dataDir = t.testdir()
  writeStatus(dataDir, 'o/r/w', { status: 'running', agent: 'codex:m', runs: 3000000000, host: 'x' })
  writeStatus(dataDir, 'o/r/v', { status: 'running', agent: 'codex:m', runs: 1e300, host: 'x' })
  const env = { DATA_DIR: dataDir, LEASE_S: '3', REAPER_INTERVAL_S: '1' }
  const svc = await startService(t, env)

  const recovery = (await call(svc.url, 'GET', '/v1/recovery')).body as { hydrated: { files_invalid: Array<{ path: string, error: string }> } }
  t.same(recovery.hydrated.files_invalid.map((f) => f.path).sort(), ['workspace/o/r/v/status.json', 'workspace/o/r/w/status.json'], 'both files are reported by name')
  t.match(recovery.hydrated.files_invalid[0]?.error, /runs/, 'with the field that is out of bounds')
  t.ok(svc.logs.some((l) => l.msg === 'skipped an unusable status.json' && l.file === 'workspace/o/r/w/status.json'), 'and logged')
  t.equal((await get(svc, 'o/r/w')).status, 404, 'the file was not loaded')

  // A run reported over HTTP goes through the same reaper passes the file's run would have.
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/o/r/live', { status: 'running', agent: 'codex:m', runs: 1, host: 'x' })).status, 201)
  await until('the reaper fails the silent run', async () => ((await get(svc, 'o/r/live')).body as { status: string }).status === 'failed')
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/o/r/next', { status: 'queued', agent: 'codex', runs: 1 })).status, 201, 'writes are stored after the reap')
  t.match((await call(svc.url, 'GET', '/readyz')).body, { store: 'ok' })
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0, 'SIGTERM exits 0: nothing was left unstored')

  const again = await startService(t, env)
  t.match((await call(again.url, 'GET', '/readyz')).body, { store: 'ok' }, 'the restart is not degraded')
  t.match((await get(again, 'o/r/live')).body, { status: 'failed', reaped: { reason: 'lease_expired' } })
  t.equal((await call(again.url, 'PUT', '/v1/workspaces/o/r/later', { status: 'queued', agent: 'codex', runs: 1 })).status, 201)
  again.proc.kill('SIGTERM')
  t.equal(await again.exited, 0)
})

t.test('times a store cannot hold or a Date cannot parse are refused, in a body and in a file', async (t) => {
  const dataDir = t.testdir()
  // Written in year 9999, carried into year 10000 by its offset; and an RFC 9557 zone suffix.
  writeStatus(dataDir, 'o/r/year', { status: 'running', agent: 'codex', runs: 1, host: 'x', started_at: '9999-12-31T23:00:00-05:00' })
  writeStatus(dataDir, 'o/r/zoned', { status: 'completed', agent: 'codex', runs: 1, updated_at: '2020-01-01T00:00:00Z[Europe/Paris]' })
  writeStatus(dataDir, 'o/r/fine', { status: 'completed', agent: 'codex', runs: 1, updated_at: '2020-01-01T00:00:00+01:00' })
  const svc = await startService(t, { DATA_DIR: dataDir, LEASE_S: '3', REAPER_INTERVAL_S: '1' })
  const recovery = (await call(svc.url, 'GET', '/v1/recovery')).body as { hydrated: { files_invalid: Array<{ path: string, error: string }> } }
  t.same(recovery.hydrated.files_invalid.map((f) => f.path).sort(), ['workspace/o/r/year/status.json', 'workspace/o/r/zoned/status.json'])
  t.match((await get(svc, 'o/r/fine')).body, { updated_at: '2019-12-31T23:00:00.000Z' }, 'a time with an offset is read as before')

  for (const started of ['9999-12-31T23:00:00-05:00', '0000-01-01T00:30:00+01:00', '2020-01-01T00:00:00+05', '2020-02-30T00:00:00Z', '2020-01-01T00:00:00Z[Europe/Paris]']) {
    const res = await call(svc.url, 'PUT', '/v1/workspaces/o/r/body', { status: 'running', agent: 'codex', runs: 1, host: 'x', started_at: started })
    t.match(res, { status: 400, body: { code: 'validation_failed', errors: [{ field: 'body.started_at' }] } }, `started_at ${started} is refused`)
  }
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/o/r/body', { status: 'running', agent: 'codex', runs: 1, host: 'x', started_at: '9999-12-31T23:59:59Z' })).status, 201, 'the last instant the store holds is taken')
  await until('the reaper fails that run', async () => ((await get(svc, 'o/r/body')).body as { status: string }).status === 'failed')
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/o/r/next', { status: 'queued', agent: 'codex', runs: 1 })).status, 201, 'and its history row was stored with the rest')
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0)
})

t.test('a record an earlier version stored with a runs past INTEGER is reaped without poisoning the commit', async (t) => {
  const { app, dataDir } = await build(t)
  // What an earlier version stored from such a file: the record itself is JSON and was stored fine.
  const at = '2026-01-01T00:00:00.000Z'
  app.service.workspaces.put({ name: 'o/r/w', org: 'o', repo: 'r', leaf: 'w', status: 'running', agent: 'codex:m', pool: 'codex', runs: 3000000000, task: '', host: 'x', priority: 0, started_at: at, updated_at: at }, null)
  await app.service.writer.commit()
  await app.close()

  const again = await build(t, { LEASE_S: '1' }, { dataDir })
  await until('the lease runs out', async () => (await again.app.service.reaper.run()).length > 0, 10_000)
  t.match((await again.app.inject({ url: '/v1/workspaces/o/r/w' })).json(), { status: 'failed', reaped: { reason: 'lease_expired' } })
  t.equal(again.app.service.writer.mode, 'ok', 'the reap was stored')
  t.equal((await put(again.app, 'o/r/next', report())).statusCode, 201)
  await again.app.close()
  const third = await build(t, {}, { dataDir })
  t.match((await third.app.inject({ url: '/v1/workspaces/o/r/w' })).json(), { status: 'failed' }, 'the reap is in the store')
})
