// What one commit costs, statement against statement, in one process and alternating: the schema-1
// upsert into the keyed `entries` table against the append to `entry_log`, both carrying the four
// rows a PUT stages, and the fold of what the appends left. Runnable alone after a build:
//   node bench/commit-probe.mjs [commits]
import { join } from 'node:path'
import { BIGINT, LIST, VARCHAR, listValue } from '@duckdb/node-api'
import { Database } from '../dist/store/core/database.js'
import { migrate } from '../dist/store/core/migrations.js'
import { foldLog } from '../dist/store/core/fold.js'
import { makeTempDir, median, removeTempDir } from './lib.mjs'

const COMMITS = Number(process.argv[2] ?? 400)
const KEYS = 10_000
const T = LIST(VARCHAR)

const dir = makeTempDir('agent-state-probe-')
const db = await Database.open(join(dir, 'probe.duckdb'), { threads: 1, memoryLimit: '256MB' })
await migrate(db)
// The schema-1 table beside the new ones, so both statements hit the same file and the same fsyncs.
await db.run('CREATE TABLE keyed (grp VARCHAR NOT NULL, key VARCHAR NOT NULL, value VARCHAR, updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (grp, key))')
const value = JSON.stringify({ status: 'running', task: 'x'.repeat(200) })

function rows (i) {
  const now = new Date().toISOString()
  const ws = `bench/repo/ws-${i % KEYS}`
  return [['registry', ws, value], ['concurrency', 'codex', value], ['event', String(1e15 + i), value], ['queue', ws, null]]
    .map(([grp, key, v]) => ({ grp, key, v, now }))
}
const lists = (rs) => [listValue(rs.map((r) => r.grp)), listValue(rs.map((r) => r.key)), listValue(rs.map((r) => r.v)), listValue(rs.map((r) => r.now))]

const upsert = []
const append = []
const folds = []
for (let i = 0; i < COMMITS; i++) {
  const rs = rows(i)
  let t = performance.now()
  await db.run(`INSERT INTO keyed SELECT unnest($1), unnest($2), unnest($3), unnest($4)::TIMESTAMPTZ
    ON CONFLICT (grp, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, lists(rs), [T, T, T, T])
  upsert.push(performance.now() - t)
  t = performance.now()
  await db.run('INSERT INTO entry_log SELECT $1, unnest($2), unnest($3), unnest($4), unnest($5)::TIMESTAMPTZ', [BigInt(i + 1), ...lists(rs)], [BIGINT, T, T, T, T])
  append.push(performance.now() - t)
  if ((i + 1) % 100 === 0) {
    t = performance.now()
    await foldLog(db)
    folds.push(performance.now() - t)
  }
}
await db.close({ checkpoint: false })
removeTempDir(dir)
const f = (x) => x.toFixed(2)
process.stdout.write(`${COMMITS} commits of 4 rows, alternating: upsert into the keyed table median ${f(median(upsert))} ms, ` +
  `append to the log median ${f(median(append))} ms (${f(median(upsert) / median(append))}×); ` +
  `fold of 100 commits (400 rows) median ${f(median(folds))} ms\n`)
