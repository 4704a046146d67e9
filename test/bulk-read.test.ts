/**
 * The bulk registry read of start-up (issue 12): values joined in DuckDB and split again must be exactly
 * what the `entries` table holds, and records kept as stored text must read as the parsed records would.
 */
import { join } from 'node:path'
import { LIST, VARCHAR, listValue } from '@duckdb/node-api'
import t from 'tap'
import { Database } from '../src/store/core/database.js'
import { readGroupValues } from '../src/store/core/group-values.js'
import { migrate } from '../src/store/core/migrations.js'
import { Tracked } from '../src/store/workspaces/workspaces.js'
import type { Workspace } from '../src/store/workspaces/model.js'

const record = (i: number, extra: Partial<Workspace> = {}): Workspace => ({
  name: `core/r${i % 7}/task-${i}`,
  org: 'core',
  repo: `r${i % 7}`,
  leaf: `task-${i}`,
  status: i % 3 === 0 ? 'running' : 'completed',
  agent: i % 2 === 0 ? 'codex:gpt-5.4' : 'claude',
  pool: i % 2 === 0 ? 'codex' : 'claude',
  runs: i,
  task: `line one\nline "two" \u00e9 \u0001 ${i}`,
  priority: 0,
  started_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...extra
})

t.test('a group read in bulk is what the entries table holds, each value whole', async (t) => {
  const db = await Database.open(join(t.testdir(), 'db.duckdb'), { threads: 1, memoryLimit: '128MB' })
  t.teardown(() => db.close())
  await migrate(db)
  const at = '2026-01-01T00:00:00Z'
  // 40,000 rows (several statements of several joined strings), another group, and deleted rows (gaps in the row ids).
  const rows = Array.from({ length: 40000 }, (_, i) => record(i))
  const queued = rows.filter((_, i) => i % 1000 === 0)
  await db.run('INSERT INTO entries SELECT unnest($1), unnest($2), unnest($3), $4::TIMESTAMPTZ', [
    listValue([...rows.map(() => 'registry'), ...queued.map(() => 'queue')]),
    listValue([...rows, ...queued].map((r) => r.name)),
    listValue([...rows.map((r) => JSON.stringify(r)), ...queued.map(() => '{}')]),
    at
  ], [LIST(VARCHAR), LIST(VARCHAR), LIST(VARCHAR), VARCHAR])
  await db.run('DELETE FROM entries WHERE key IN ($1, $2)', [record(3).name, record(30000).name])

  const bulk = await readGroupValues(db, 'registry')
  const table = (await db.column("SELECT value FROM entries WHERE grp = 'registry' AND value IS NOT NULL")).map(String)
  t.equal(bulk.length, 39998, 'two deleted')
  t.same([...bulk].sort(), [...table].sort(), 'the same values as the table, each whole')
  t.same(await readGroupValues(db, 'none'), [], 'an empty group reads as nothing')
})

t.test('a record kept as stored text reads as the parsed record', async (t) => {
  const r = record(4, { question: 'why?', reaped: { reason: 'pid_dead', evidence: 'gone', at: '2026-01-01T00:00:00.000Z' } })
  const json = JSON.stringify(r)
  const stored = Tracked.stored(json)
  t.same({ name: stored.name, status: stored.status, agent: stored.agent, pool: stored.pool }, { name: r.name, status: r.status, agent: r.agent, pool: r.pool })
  t.equal(stored.json, json, 'the stored text is served as it is, so its ETag is unchanged')
  t.equal(stored.etag, Tracked.of(r).etag)
  t.same(stored.record, r)

  // Text in another field order (written by other code) is parsed whole instead.
  const { name, ...rest } = r
  const reordered = JSON.stringify({ ...rest, name })
  const other = Tracked.stored(reordered)
  t.same({ name: other.name, status: other.status, agent: other.agent, pool: other.pool, record: other.record }, { name: r.name, status: r.status, agent: r.agent, pool: r.pool, record: r })
  t.throws(() => Tracked.stored('{"name":'), 'text that is not JSON is refused, not guessed at')
})
