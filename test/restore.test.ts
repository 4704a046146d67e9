/**
 * The real service as a child process: a run's end is durable once acknowledged (SIGKILL right after),
 * and RESTORE_FROM starts a service from a backup, serving the state the backup holds.
 */
import { renameSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { spawnService, startService } from './child.js'
import { duckRows } from './duck.js'

async function call (url: string, method = 'GET', body?: unknown): Promise<{ status: number, text: string }> {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, text: await res.text() }
}

const running = { status: 'running', agent: 'codex:gpt-5.4', runs: 1, task: 'port the tests', host: 'far-away' }

t.test('start from a backup: the same state; a store already there is never overwritten', async (t) => {
  const dataDir = t.testdir()
  const first = await startService(t, { DATA_DIR: dataDir })
  for (const leaf of ['a', 'b', 'c']) t.equal((await call(`${first.url}/v1/workspaces/core/web/${leaf}`, 'PUT', running)).status, 201)
  t.equal((await call(`${first.url}/v1/workspaces/core/web/a`, 'PUT', { ...running, status: 'completed' })).status, 200)
  t.equal((await call(`${first.url}/v1/backups`, 'POST', { name: 'nightly' })).status, 201)
  const workspaces = (await call(`${first.url}/v1/workspaces`)).text
  const stats = JSON.parse((await call(`${first.url}/v1/stats/runs?by=model`)).text).groups
  t.equal(stats[0].count, 1)
  // After the backup: acknowledged, so durable even through a SIGKILL, but not in the backup.
  t.equal((await call(`${first.url}/v1/workspaces/core/web/b`, 'PUT', { ...running, status: 'failed' })).status, 200)
  await first.kill('SIGKILL')

  // The last one may be in the change log only: the next start replays it, and a clean stop folds it in.
  const second = await startService(t, { DATA_DIR: dataDir })
  await second.kill('SIGTERM')
  t.equal(second.proc.exitCode, 0)
  const rows = await duckRows(join(dataDir, '.core', 'db.duckdb'), 'SELECT workspace, outcome FROM run_history ORDER BY ended_at')
  t.same(rows, [{ workspace: 'core/web/a', outcome: 'completed' }, { workspace: 'core/web/b', outcome: 'failed' }], 'both run ends survived the kill')

  const refused = spawnService(t, { DATA_DIR: dataDir, RESTORE_FROM: 'nightly' })
  refused.listening.catch(() => {})
  t.equal(await refused.exited, 1)
  t.match(refused.stderr, /RESTORE_FROM=nightly: a store already exists at .*db\.duckdb.*; it is never overwritten/)

  renameSync(join(dataDir, '.core'), join(dataDir, '.core-broken'))
  const restored = await startService(t, { DATA_DIR: dataDir, RESTORE_FROM: 'backups/nightly' })
  t.ok(restored.logs.some((l) => l.msg === 'store restored from a backup (RESTORE_FROM)'))
  t.equal((await call(`${restored.url}/v1/workspaces`)).text, workspaces, 'the same workspaces, byte for byte')
  t.same(JSON.parse((await call(`${restored.url}/v1/stats/runs?by=model`)).text).groups, stats, 'the same history')
  await restored.kill('SIGTERM')

  const missing = spawnService(t, { DATA_DIR: join(dataDir, 'fresh'), RESTORE_FROM: 'nope' })
  missing.listening.catch(() => {})
  t.equal(await missing.exited, 1)
  t.match(missing.stderr, /RESTORE_FROM=nope: there is no backup file at/)
})
