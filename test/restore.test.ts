/**
 * The real service as a child process: a run's end is durable once acknowledged (SIGKILL right after),
 * and RESTORE_FROM starts a service from a backup, serving the state the backup holds.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { spawnService, startOutcome, startService } from './child.js'
import { duckRows } from './duck.js'
import { LATEST_VERSION } from '../src/store/core/migrations.js'

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

/** Takes backup `good` of a store with a few workspaces, stops the service and moves its store away: a volume to restore on. */
async function volumeWithBackup (t: Test, root: string): Promise<{ dataDir: string, good: string }> {
  const dataDir = join(root, 'data')
  const first = await startService(t, { DATA_DIR: dataDir })
  for (const leaf of ['a', 'b', 'c']) t.equal((await call(`${first.url}/v1/workspaces/core/web/${leaf}`, 'PUT', { ...running, task: 'x'.repeat(2000) })).status, 201)
  t.equal((await call(`${first.url}/v1/backups`, 'POST', { name: 'good' })).status, 201)
  first.proc.kill('SIGTERM')
  t.equal(await first.exited, 0)
  renameSync(join(dataDir, '.core'), join(dataDir, '.core-old'))
  return { dataDir, good: join(dataDir, 'backups', 'good', 'db.duckdb') }
}

t.test('a bad backup never becomes the store: each stops the start with one line naming it, and nothing is left in place', async (t) => {
  const { dataDir, good } = await volumeWithBackup(t, t.testdir())
  const bytes = readFileSync(good)
  const bad = async (name: string, make: (file: string) => void | Promise<void>): Promise<void> => {
    mkdirSync(join(dataDir, 'backups', name))
    await make(join(dataDir, 'backups', name, 'db.duckdb'))
  }
  await bad('truncated', (f) => writeFileSync(f, bytes.subarray(0, bytes.length / 2)))
  // Every block's checksum (its first 8 bytes) is overwritten past the headers, as a failing disk would garble it.
  await bad('garbled', (f) => {
    const copy = Buffer.from(bytes)
    for (let at = 3 * 4096; at < copy.length; at += 256 * 1024) copy.fill(0xff, at, at + 64)
    writeFileSync(f, copy)
  })
  await bad('empty', (f) => writeFileSync(f, ''))
  await bad('not-duckdb', (f) => writeFileSync(f, 'SQLite format 3\0 or a tarball, or anything else'))
  await bad('other-duckdb', async (f) => { await duckRows(f, 'CREATE TABLE foo (x INTEGER)') })
  await bad('no-history', async (f) => { writeFileSync(f, bytes); await duckRows(f, 'DROP TABLE run_history') })

  const reasons: Record<string, RegExp> = {
    truncated: /cannot|not a valid|Corrupt/,
    garbled: /checksum|Corrupt|cannot/,
    empty: /DuckDB cannot open it/,
    'not-duckdb': /DuckDB cannot open it/,
    'other-duckdb': /it has no schema_migrations table: it is not a store of this service/,
    'no-history': new RegExp(`it lacks the table run_history of schema version ${LATEST_VERSION}`)
  }
  for (const [name, why] of Object.entries(reasons)) {
    const svc = spawnService(t, { DATA_DIR: dataDir, RESTORE_FROM: name })
    t.equal(await startOutcome(svc), 1, `${name}: the start stops`)
    await svc.kill()
    const lines = svc.stderr.trimEnd().split('\n')
    t.equal(lines.length, 1, `${name}: one line`)
    t.match(lines[0], new RegExp(`^agent-state: RESTORE_FROM=${name}: .*/backups/${name}/db\\.duckdb is not a usable backup, so the service did not start from it: `))
    t.match(lines[0], why, `${name}: it says why`)
    t.same(readdirSync(join(dataDir, '.core')), [], `${name}: no store and no partial copy are left`)
  }

  const restored = await startService(t, { DATA_DIR: dataDir, RESTORE_FROM: 'good' })
  t.match(restored.logs.find((l) => l.msg === 'store restored from a backup (RESTORE_FROM)'), { schema_version: LATEST_VERSION, rows: { run_history: 0, schema_migrations: LATEST_VERSION } }, 'the good one is verified and restored')
  t.equal((await call(`${restored.url}/v1/workspaces/core/web/c`)).status, 200)
  t.match(JSON.parse((await call(`${restored.url}/readyz`)).text), { store: 'ok' })
})

t.test('backups/ and workspace/ as symbolic links out of the data folder are never followed, and start-up says so', async (t) => {
  const root = t.testdir()
  const { dataDir } = await volumeWithBackup(t, root)
  const elsewhere = join(root, 'elsewhere')
  mkdirSync(elsewhere)
  // backups/ moves out of the data folder, a link left in its place; a leftover of an interrupted backup with it.
  renameSync(join(dataDir, 'backups'), join(elsewhere, 'backups'))
  mkdirSync(join(elsewhere, 'backups', '.partial-x'))
  symlinkSync(join(elsewhere, 'backups'), join(dataDir, 'backups'))
  // workspace/ is a link to another tree of workspace folders, with an agent's status.json in it.
  const outside = join(elsewhere, 'workspace', 'core', 'far', 'one')
  mkdirSync(outside, { recursive: true })
  const file = join(outside, 'status.json')
  const written = JSON.stringify({ status: 'running', agent: 'codex:m', runs: 1, task: 'not ours' })
  writeFileSync(file, written)
  symlinkSync(join(elsewhere, 'workspace'), join(dataDir, 'workspace'))

  const refused = spawnService(t, { DATA_DIR: dataDir, RESTORE_FROM: 'good' })
  t.equal(await startOutcome(refused), 1)
  await refused.kill()
  t.match(refused.stderr, /^agent-state: RESTORE_FROM=good: .*\/backups is a symbolic link or not a folder; a backup is never read through a link\n$/)

  t.notOk(existsSync(join(dataDir, '.core', 'db.duckdb')), 'nothing was restored')
  rmSync(join(dataDir, '.core'), { recursive: true, force: true })
  renameSync(join(dataDir, '.core-old'), join(dataDir, '.core'))
  const svc = await startService(t, { DATA_DIR: dataDir })
  const warnings = (JSON.parse((await call(`${svc.url}/v1/recovery`)).text) as { warnings: string[] }).warnings
  t.match(warnings, [/^workspace\/ in the data folder is a symbolic link or not a folder: it is never followed, so no status.json under it is read or written/, /^backups\/ .* never followed/])
  t.ok(svc.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('workspace/ in the data folder is a symbolic link')), 'and logs them')

  t.equal((await call(`${svc.url}/v1/workspaces/core/far/one`)).status, 404, 'no status.json is read through the link')
  t.equal((await call(`${svc.url}/v1/workspaces/core/far/one`, 'PUT', running)).status, 201)
  t.equal((await call(`${svc.url}/v1/workspaces/core/far/one`, 'PUT', { ...running, status: 'completed' })).status, 200)
  t.same(JSON.parse((await call(`${svc.url}/v1/backups`)).text), { items: [], next_cursor: null }, 'no backup is listed through the link')
  t.equal((await call(`${svc.url}/v1/backups/good`, 'DELETE')).status, 404, 'nor deleted through it')
  t.match(JSON.parse((await call(`${svc.url}/v1/backups`, 'POST', { name: 'new' })).text), { code: 'backups_folder_invalid' }, 'nor taken')
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0)
  t.equal(readFileSync(file, 'utf8'), written, 'the status.json out there was never rewritten')
  t.ok(existsSync(join(elsewhere, 'backups', 'good', 'db.duckdb')), 'the backup out there is still there')
  t.ok(existsSync(join(elsewhere, 'backups', '.partial-x')), 'and so is what start-up would have tidied')
})
