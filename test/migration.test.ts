/**
 * Data folders earlier versions wrote open with today's code with nothing lost, and keep working across a
 * restart: the schema-1 store (test/fixtures/store-v1, made by make-store-v1.mjs with that code), and the
 * schema-3 store as a kill -9 left it, with writes still in its `entry_log` table and DuckDB's WAL
 * (test/fixtures/store-v3, made by make-store-v3.mjs).
 */
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { readEventsAfter } from '../src/store/events/event-store.js'
import type { Database } from '../src/store/core/database.js'
import { build, put, report } from './helper.js'

const MIGRATIONS = [[1], [2], [3], [4]]

/** A copy of a fixture folder with its gzipped store files unpacked. */
function unpack (t: Test, fixture: string): string {
  const dataDir = t.testdir()
  cpSync(new URL(`./fixtures/${fixture}/`, import.meta.url).pathname, dataDir, { recursive: true })
  // Store files are committed gzipped (a .duckdb file is never committed by accident, and it packs 10×).
  for (const file of readdirSync(join(dataDir, '.core')).filter((f) => f.endsWith('.gz'))) {
    const gz = join(dataDir, '.core', file)
    writeFileSync(gz.slice(0, -3), gunzipSync(readFileSync(gz)))
    rmSync(gz)
  }
  return dataDir
}

t.test('a schema-1 data folder migrates with every record, entry and event', async (t) => {
  const dataDir = unpack(t, 'store-v1')
  const { app } = await build(t, { REAPER_PID_CHECK: 'off' }, { dataDir })
  const db = app.service.db as Database

  t.same(await db.rows('SELECT version FROM schema_migrations ORDER BY version'), MIGRATIONS, 'every version recorded')
  t.match((await app.inject({ url: '/v1/status' })).json(), { total: 4, by_status: { running: 1, queued: 1, blocked: 1, completed: 1 } })
  t.match((await app.inject({ url: '/v1/workspaces/core/api/task-3' })).json(), { status: 'blocked', runs: 2, question: 'which staging DB?' })
  t.equal((await app.inject({ url: '/v1/workspaces/core/api/task-5' })).statusCode, 404, 'the deleted workspace stays deleted')
  t.same((await app.inject({ url: '/v1/queue' })).json().items.map((q: { workspace: { name: string } }) => q.workspace.name), ['core/go-io/task-2'])
  t.match((await app.inject({ url: '/v1/pools/codex' })).json(), { backoff_until: '2099-01-01T00:00:00.000Z', admissible: false })
  t.match((await app.inject({ url: '/v1/sync/status' })).json(), { queued: 1 })
  const journal = (await app.inject({ url: '/v1/journal' })).json()
  t.same(journal.items.map((c: { tags: { workspace: string } }) => c.tags.workspace), ['core/api/task-4'], 'the journalled cycle')
  const events = await readEventsAfter(db, 0, 100)
  t.same(events.map((e) => e.type), ['workspace', 'workspace', 'workspace', 'workspace', 'workspace', 'workspace', 'backoff', 'sync', 'buffer', 'buffer'])

  // Writes after the migration go through the log, and a restart reads snapshot and log together.
  t.equal((await put(app, 'core/go-io/task-2', report({ runs: 1 }))).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/api/task-3' })).statusCode, 204)
  const lastBefore = events.at(-1)?.id as number
  await app.close()

  const again = await build(t, { REAPER_PID_CHECK: 'off' }, { dataDir })
  t.match((await again.app.inject({ url: '/v1/status' })).json(), { total: 3, by_status: { running: 2, completed: 1, queued: 0, blocked: 0 } })
  t.same((await again.app.inject({ url: '/v1/queue' })).json().items, [], 'the claimed queue entry is gone')
  const later = await readEventsAfter(again.app.service.db as Database, lastBefore, 100)
  t.same(later.map((e) => (e.data as { action: string }).action), ['updated', 'deleted'], 'new events follow the migrated ones')
})

t.test('a schema-3 data folder a kill -9 left, with unfolded writes, migrates with every one of them', async (t) => {
  const dataDir = unpack(t, 'store-v3')
  const { app } = await build(t, { REAPER_PID_CHECK: 'off' }, { dataDir })
  const db = app.service.db as Database
  t.same(await db.rows('SELECT version FROM schema_migrations ORDER BY version'), MIGRATIONS, 'every version recorded')
  t.same(await db.rows("SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name IN ('entry_log', 'entry_snapshot')"), [[0]], 'the old log table and snapshot are gone')
  t.same(await db.rows('SELECT count(*)::INTEGER FROM log_state'), [[1]], 'one row says which commit of the new log the store holds')

  // Folded before the kill.
  t.match((await app.inject({ url: '/v1/workspaces/core/api/task-3' })).json(), { status: 'blocked', runs: 2, question: 'which staging DB?' })
  t.match((await app.inject({ url: '/v1/pools/codex' })).json(), { backoff_until: '2099-01-01T00:00:00.000Z', admissible: false })
  t.same((await app.inject({ url: '/v1/journal' })).json().items.map((c: { tags: { workspace: string } }) => c.tags.workspace), ['core/api/task-3'])
  // Logged in entry_log, never folded: the update, the create, the delete and the outbox item.
  t.match((await app.inject({ url: '/v1/workspaces/core/go-io/task-1' })).json(), { status: 'completed', runs: 1 })
  t.match((await app.inject({ url: '/v1/workspaces/core/go-io/task-2' })).json(), { status: 'queued', priority: 3 })
  t.equal((await app.inject({ url: '/v1/workspaces/core/api/task-5' })).statusCode, 404, 'the unfolded delete holds')
  t.same((await app.inject({ url: '/v1/queue' })).json().items.map((q: { workspace: { name: string } }) => q.workspace.name), ['core/go-io/task-2'])
  t.match((await app.inject({ url: '/v1/sync/status' })).json(), { queued: 1 })
  t.match((await app.inject({ url: '/v1/status' })).json(), { total: 3, by_status: { completed: 1, queued: 1, blocked: 1 } })
  const events = await readEventsAfter(db, 0, 100)
  t.equal(events.length, 11, 'every event, folded or not')
  const stats = (await app.inject({ url: '/v1/stats/runs?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z' })).json()
  t.match(stats.groups, [{ key: 'all', count: 2 }], 'both ended runs are in the history')

  // Writes after the migration go through the log; a restart reads them back.
  t.equal((await put(app, 'core/go-io/task-2', report({ runs: 1 }))).statusCode, 200)
  await app.close()
  const again = await build(t, { REAPER_PID_CHECK: 'off' }, { dataDir })
  t.match((await again.app.inject({ url: '/v1/workspaces/core/go-io/task-2' })).json(), { status: 'running', runs: 1 })
  t.match((await again.app.inject({ url: '/v1/recovery' })).json().log, { damaged: null, torn: null })
})
