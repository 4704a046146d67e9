/**
 * A data folder the schema-1 store wrote (test/fixtures/store-v1, made by make-store-v1.mjs with that
 * code) opens with today's code with nothing lost, and keeps working across a restart.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import { readEventsAfter } from '../src/store/events/event-store.js'
import type { Database } from '../src/store/core/database.js'
import { build, put, report } from './helper.js'

const FIXTURE = new URL('./fixtures/store-v1/', import.meta.url).pathname

t.test('a schema-1 data folder migrates with every record, entry and event', async (t) => {
  const dataDir = t.testdir()
  cpSync(FIXTURE, dataDir, { recursive: true })
  // The store file is committed gzipped (a .duckdb file is never committed by accident, and it packs 10×).
  const gz = join(dataDir, '.core', 'db.duckdb.gz')
  writeFileSync(join(dataDir, '.core', 'db.duckdb'), gunzipSync(readFileSync(gz)))
  rmSync(gz)
  const { app } = await build(t, { REAPER_PID_CHECK: 'off' }, { dataDir })
  const db = app.service.db as Database

  t.same(await db.rows('SELECT version FROM schema_migrations ORDER BY version'), [[1], [2], [3]], 'every version recorded')
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
