import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import t from 'tap'
import { build, storedGroup } from './helper.js'

const stateDir = (dataDir: string) => join(dataDir, '.core', 'state')

/** Writes a buffer the way another program would: go-store's DDL through @duckdb/node-api directly, never through this service. */
async function goStoreBuffer (dir: string, name: string, entries: Array<[string, object]>): Promise<void> {
  mkdirSync(dir, { recursive: true })
  const instance = await DuckDBInstance.create(join(dir, `${name}.duckdb`))
  const conn = await instance.connect()
  await conn.run('CREATE SEQUENCE IF NOT EXISTS workspace_entries_entry_id_seq START 1')
  await conn.run(`CREATE TABLE IF NOT EXISTS workspace_entries (
    entry_id BIGINT PRIMARY KEY DEFAULT nextval('workspace_entries_entry_id_seq'),
    entry_kind TEXT NOT NULL, entry_data TEXT NOT NULL, created_at BIGINT NOT NULL)`)
  await conn.run('CREATE VIEW IF NOT EXISTS entries AS SELECT entry_id AS id, entry_kind AS kind, entry_data AS data, created_at FROM workspace_entries')
  for (const [kind, data] of entries) {
    await conn.run('INSERT INTO workspace_entries (entry_kind, entry_data, created_at) VALUES ($1, $2, $3)', [kind, JSON.stringify(data), Date.now()])
  }
  conn.closeSync()
  instance.closeSync()
}

t.test('no .core/state/ folder: a clean start that creates nothing', async (t) => {
  const { app, dataDir } = await build(t)
  const report = (await app.inject({ url: '/v1/recovery' })).json()
  t.same(report.orphans, { skipped: null, outcomes: [] })
  t.type(report.timings_ms.orphans, 'number')
  t.ok(report.finished_at)
  t.notOk(existsSync(stateDir(dataDir)))
  t.equal(app.initialConfig.pluginTimeout, 0, 'start-up steps are not cut off after Fastify\'s default 10 s')
})

t.test('a buffer file written by another program in go-store\'s layout is found and discarded, never committed', async (t) => {
  const dataDir = t.testdir()
  await goStoreBuffer(stateDir(dataDir), 'qa-core-go-io-task-5', [['finding', { tool: 'gosec' }], ['finding', { tool: 'govet' }], ['build', { passed: true }]])
  const { app } = await build(t, {}, { dataDir })
  t.same(app.service.recovery.report.orphans.outcomes, [
    { file: 'qa-core-go-io-task-5.duckdb', outcome: 'discarded', detail: 'partial cycle of 3 entries (build 1, finding 2)' }
  ])
  t.same(readdirSync(stateDir(dataDir)), [], 'the file is gone')
  t.same((await app.inject({ url: '/v1/journal' })).json().items, [], 'nothing was journalled')
  t.equal((await app.inject({ method: 'POST', url: '/v1/buffers', payload: { name: 'qa-core-go-io-task-5' } })).statusCode, 201, 'its name is free again')
  await app.close()
  const events = [...(await storedGroup(dataDir, 'event')).values()] as Array<{ type: string, subject: string, data: { action: string, outcome?: string } }>
  t.match(events[0], { type: 'buffer', subject: 'qa-core-go-io-task-5.duckdb', data: { action: 'recovered', outcome: 'discarded' } }, 'the outcome is an event')
})

t.test('unreadable files are quarantined, with a suffix when the name is taken', async (t) => {
  const dataDir = t.testdir({
    '.core': {
      state: {
        'junk.duckdb': 'this is not a database',
        'junk.duckdb.wal': 'nor is this',
        'empty.duckdb': '',
        quarantine: { 'junk.duckdb': 'an earlier junk', 'junk.1.duckdb.wal': 'the WAL of another' }
      }
    }
  })
  // A DuckDB database without the buffer table is not a buffer: it is kept for a person to look at, not deleted.
  const other = await DuckDBInstance.create(join(stateDir(dataDir), 'other.duckdb'))
  const conn = await other.connect()
  await conn.run('CREATE TABLE t (a INTEGER)')
  conn.closeSync()
  other.closeSync()

  const { app } = await build(t, {}, { dataDir })
  const outcomes = app.service.recovery.report.orphans.outcomes
  t.same(outcomes.map((o) => [o.file, o.outcome]), [['empty.duckdb', 'quarantined'], ['junk.duckdb', 'quarantined'], ['other.duckdb', 'quarantined']])
  t.match(outcomes[1]?.detail, /^moved to quarantine\/junk\.2\.duckdb: IO Error: The file "junk\.duckdb" exists, but it is not a valid DuckDB database file/)
  t.notMatch(JSON.stringify(outcomes), dataDir, 'the report names no absolute path')
  t.match(outcomes[2]?.detail, /workspace_entries does not exist/)
  t.same(readdirSync(stateDir(dataDir)), ['quarantine'])
  t.same(readdirSync(join(stateDir(dataDir), 'quarantine')).sort(),
    ['empty.duckdb', 'junk.1.duckdb.wal', 'junk.2.duckdb', 'junk.2.duckdb.wal', 'junk.duckdb', 'other.duckdb'], 'the WAL moves with its file')
})

t.test('a WAL without its database is discarded, and a link is moved aside without being followed', async (t) => {
  const root = t.testdir({
    outside: { 'secret.duckdb': 'outside the volume' },
    volume: { '.core': { state: { 'gone.duckdb.wal': 'left by a removal cut short', 'link.duckdb': t.fixture('symlink', '../../../outside/secret.duckdb') } } }
  })
  const outside = join(root, 'outside')
  const dataDir = join(root, 'volume')
  const { app } = await build(t, {}, { dataDir })
  t.same(app.service.recovery.report.orphans.outcomes, [
    { file: 'gone.duckdb.wal', outcome: 'discarded', detail: 'a WAL without its database' },
    { file: 'link.duckdb', outcome: 'quarantined', detail: 'moved to quarantine/link.duckdb: not a regular file' }
  ])
  t.ok(existsSync(join(outside, 'secret.duckdb')), 'the link target is untouched')
})

t.test('a buffer file another process holds open is left in place', async (t) => {
  const dataDir = t.testdir()
  await goStoreBuffer(stateDir(dataDir), 'qa-live', [['finding', { tool: 'gosec' }]])
  const holder = spawn(process.execPath, ['-e', `
    const { DuckDBInstance } = require('@duckdb/node-api')
    DuckDBInstance.create(process.argv[1]).then(() => { process.stdout.write('holding\\n'); setInterval(() => {}, 1000) })
  `, join(stateDir(dataDir), 'qa-live.duckdb')], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { holder.kill('SIGKILL') })
  await new Promise((resolve) => holder.stdout.once('data', resolve))
  const { app } = await build(t, {}, { dataDir })
  t.match(app.service.recovery.report.orphans.outcomes, [{ file: 'qa-live.duckdb', outcome: 'left_in_place', detail: /^locked by another process/ }])
  t.ok(existsSync(join(stateDir(dataDir), 'qa-live.duckdb')))
})

t.test('with the store unavailable, recovery is skipped and reported as skipped', async (t) => {
  const dataDir = t.testdir({ '.core': { 'db.duckdb': 'not a database' } })
  await goStoreBuffer(stateDir(dataDir), 'qa-waiting', [['finding', { tool: 'gosec' }]])
  const { app } = await build(t, {}, { dataDir })
  const report = (await app.inject({ url: '/v1/recovery' })).json()
  t.equal(report.store.mode, 'degraded')
  t.match(report.orphans, { skipped: /store is unavailable/, outcomes: [] })
  t.ok(existsSync(join(stateDir(dataDir), 'qa-waiting.duckdb')), 'the file waits for a start-up with the store')
  const res = await app.inject({ method: 'POST', url: '/v1/buffers', payload: { name: 'qa-waiting' } })
  t.equal(res.statusCode, 503, 'no buffer is opened while the store cannot journal it')
  t.ok(existsSync(join(stateDir(dataDir), 'qa-waiting.duckdb')), 'and the waiting file is untouched')
})

t.test('shutdown closes open buffers and keeps their files: the next start-up discards them', async (t) => {
  const { app, dataDir } = await build(t)
  await app.inject({ method: 'POST', url: '/v1/buffers', payload: { name: 'qa-open' } })
  await app.inject({ method: 'POST', url: '/v1/buffers/qa-open/entries', payload: { kind: 'finding', data: { tool: 'gosec' } } })
  await app.close()
  t.ok(existsSync(join(stateDir(dataDir), 'qa-open.duckdb')))
  const again = await build(t, {}, { dataDir })
  t.same(again.app.service.recovery.report.orphans.outcomes, [{ file: 'qa-open.duckdb', outcome: 'discarded', detail: 'partial cycle of 1 entry (finding 1)' }])
  t.same((await again.app.inject({ url: '/v1/journal' })).json().items, [])
})
