// What one commit costs, in one process and alternating: a DuckDB statement (the upsert of the four rows
// a PUT stages into the keyed `entries` table, as a commit inside DuckDB would be) against the change
// log's commit (one record, one write, one fdatasync: log/change-log.ts), and the fold of 100 logged
// commits into DuckDB (core/fold.ts). Runnable alone after a build:
//   node bench/commit-probe.mjs [commits]
import { join } from 'node:path'
import { LIST, VARCHAR, listValue } from '@duckdb/node-api'
import { Database } from '../dist/store/core/database.js'
import { foldCommits } from '../dist/store/core/fold.js'
import { migrate } from '../dist/store/core/migrations.js'
import { ChangeLog } from '../dist/store/log/change-log.js'
import { encodeChanges } from '../dist/store/log/codec.js'
import { makeTempDir, median, removeTempDir } from './lib.mjs'

const COMMITS = Number(process.argv[2] ?? 400)
const KEYS = 10_000
const T = LIST(VARCHAR)

const dir = makeTempDir('agent-state-probe-')
const db = await Database.open(join(dir, 'probe.duckdb'), { threads: 1, memoryLimit: '256MB' })
await migrate(db)
const log = new ChangeLog(join(dir, 'log'), 16 * 1024 * 1024)
log.start([], 0)
const value = JSON.stringify({ status: 'running', task: 'x'.repeat(200) })

function rows (i) {
  const now = new Date().toISOString()
  const ws = `bench/repo/ws-${i % KEYS}`
  return [['registry', ws, value], ['concurrency', 'codex', value], ['event', String(1e15 + i), value], ['queue', ws, null]]
    .map(([grp, key, v]) => ({ grp, key, value: v, updatedAt: now }))
}
const lists = (rs) => [listValue(rs.map((r) => r.grp)), listValue(rs.map((r) => r.key)), listValue(rs.map((r) => r.value)), listValue(rs.map((r) => r.updatedAt))]

const statement = []
const logged = []
const folds = []
let pending = []
for (let i = 0; i < COMMITS; i++) {
  const rs = rows(i)
  let t = performance.now()
  await db.run('INSERT OR REPLACE INTO entries SELECT unnest($1), unnest($2), unnest($3), unnest($4)::TIMESTAMPTZ', lists(rs), [T, T, T, T])
  statement.push(performance.now() - t)
  t = performance.now()
  const changes = [{ source: undefined, entries: rs, appends: [] }]
  await log.append(i + 1, encodeChanges(changes))
  logged.push(performance.now() - t)
  pending.push({ commit: i + 1, changes })
  if (pending.length === 100) {
    t = performance.now()
    await foldCommits(db, pending, () => {})
    folds.push(performance.now() - t)
    pending = []
  }
}
await log.close()
await db.close({ checkpoint: false })
removeTempDir(dir)
const f = (x) => x.toFixed(2)
process.stdout.write(`${COMMITS} commits of 4 rows, alternating: a DuckDB statement median ${f(median(statement))} ms, ` +
  `a change log commit (write + fdatasync) median ${f(median(logged))} ms (${f(median(statement) / median(logged))}×); ` +
  `fold of 100 logged commits (400 rows) median ${f(median(folds))} ms\n`)
