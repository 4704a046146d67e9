// Start-up with orphan buffers: time from process start to /readyz 200 with 1,000 orphan buffer files
// (go-store layout) under DATA_DIR/.core/state/, against a start on an empty DATA_DIR in the same round,
// plus the `orphans` step's own timing from GET /v1/recovery.
// Run alone after `npm run build`: `node bench/orphans.mjs`. Env: BENCH_ROUNDS (3), BENCH_ORPHANS (1000).
// Exit code 1 when a round saw a problem (an orphan not discarded, a start-up failure, an unclean stop).
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { fmtNum, freePort, guardChildren, makeTempDir, removeTempDir, spread, startNode, table } from './lib.mjs'

export const id = 'orphans'
export const title = 'Start-up recovery of orphan buffers'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = join(ROOT, 'dist', 'boot', 'server.js')

/** One buffer as the Go agent leaves it after a crash: go-store's DDL, three findings and a tool run. */
async function writeOrphan (path) {
  const instance = await DuckDBInstance.create(path)
  const conn = await instance.connect()
  await conn.run('CREATE SEQUENCE IF NOT EXISTS workspace_entries_entry_id_seq START 1')
  await conn.run(`CREATE TABLE IF NOT EXISTS workspace_entries (
    entry_id BIGINT PRIMARY KEY DEFAULT nextval('workspace_entries_entry_id_seq'),
    entry_kind TEXT NOT NULL, entry_data TEXT NOT NULL, created_at BIGINT NOT NULL)`)
  await conn.run('CREATE VIEW IF NOT EXISTS entries AS SELECT entry_id AS id, entry_kind AS kind, entry_data AS data, created_at FROM workspace_entries')
  for (const [kind, data] of [
    ['finding', { tool: 'gosec', file: 'main.go', line: 42, code: 'G101', severity: 'error' }],
    ['finding', { tool: 'govet', file: 'log.go', line: 12, rule_id: 'printf', severity: 'warning' }],
    ['finding', { tool: 'staticcheck', file: 'util.go', line: 3, code: 'SA4006', severity: 'info' }],
    ['tool_run', { name: 'gosec', status: 'ok', findings: 1 }]
  ]) await conn.run('INSERT INTO workspace_entries (entry_kind, entry_data, created_at) VALUES ($1, $2, $3)', [kind, JSON.stringify(data), Date.now()])
  conn.closeSync()
  instance.closeSync()
}

/** Starts the built service on `dataDir` with default settings; resolves its ready time, recovery report and stop result. */
async function startOnce (dataDir) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const server = await startNode({
    args: [SERVER],
    env: { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', AUTH_TOKENS: '' },
    cwd: ROOT,
    readyUrl: `${base}/readyz`,
    timeoutMs: 300_000,
    name: 'agent-state'
  })
  const report = await (await fetch(`${base}/v1/recovery`)).json()
  const stopped = await server.stop()
  return { readyMs: server.readyMs, report, stopped }
}

/** One round: a start on an empty DATA_DIR, then a start with `orphans` orphan files copied from `template`. */
export async function runRound ({ orphans, template }) {
  const problems = []
  const emptyDir = makeTempDir()
  const baseline = await startOnce(emptyDir)
  removeTempDir(emptyDir)

  const dataDir = makeTempDir()
  const state = join(dataDir, '.core', 'state')
  mkdirSync(state, { recursive: true })
  for (let i = 0; i < orphans; i++) copyFileSync(template, join(state, `qa-core-bench-task-${i}.duckdb`))
  const loaded = await startOnce(dataDir)
  const outcomes = loaded.report.orphans?.outcomes ?? []
  const discarded = outcomes.filter((o) => o.outcome === 'discarded').length
  if (discarded !== orphans) problems.push(`${discarded} of ${orphans} orphans discarded (${JSON.stringify(outcomes.find((o) => o.outcome !== 'discarded'))})`)
  const left = readdirSync(state)
  if (left.length > 0) problems.push(`${left.length} files left in .core/state/`)
  for (const [name, run] of [['baseline', baseline], ['orphans', loaded]]) {
    if (run.stopped.code !== 0) problems.push(`${name} start did not stop cleanly: ${JSON.stringify(run.stopped)}`)
  }
  removeTempDir(dataDir)

  const recoveryMs = loaded.report.timings_ms?.orphans ?? null
  return {
    baselineMs: baseline.readyMs,
    orphansMs: loaded.readyMs,
    ratio: loaded.readyMs / baseline.readyMs,
    recoveryMs,
    perFileMs: recoveryMs === null ? null : recoveryMs / orphans,
    problems
  }
}

function intEnv (name, dflt) {
  const raw = process.env[name]
  const v = raw === undefined || raw === '' ? dflt : Number(raw)
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`bench: ${name} must be an integer ≥ 1 (got "${raw}")\n`)
    process.exit(2)
  }
  return v
}

export async function main () {
  if (!existsSync(SERVER)) {
    process.stderr.write('bench: dist/boot/server.js is missing; run `npm run build` first\n')
    process.exit(2)
  }
  guardChildren()
  const rounds = intEnv('BENCH_ROUNDS', 3)
  const orphans = intEnv('BENCH_ORPHANS', 1000)
  const log = (line) => process.stdout.write(line + '\n')
  log(`${title}: ${rounds} rounds, ${orphans} orphan buffer files (go-store layout, 4 entries each) against an empty DATA_DIR`)

  const templateDir = makeTempDir()
  const template = join(templateDir, 'orphan.duckdb')
  await writeOrphan(template)
  const results = []
  for (let round = 1; round <= rounds; round++) {
    const r = await runRound({ orphans, template })
    results.push(r)
    log(`round ${round}: empty ${fmtNum(r.baselineMs, 0)} ms, with orphans ${fmtNum(r.orphansMs, 0)} ms, orphans step ${fmtNum(r.recoveryMs, 0)} ms${r.problems.length > 0 ? `  !! ${r.problems.join('; ')}` : ''}`)
  }
  removeTempDir(templateDir)

  const col = (key) => spread(results.map((r) => r[key]))
  const rows = [
    ['start → /readyz 200, empty DATA_DIR (ms)', col('baselineMs'), 0],
    [`start → /readyz 200, ${orphans} orphans (ms)`, col('orphansMs'), 0],
    ['ratio (with orphans ÷ empty, same round)', col('ratio'), 1],
    ['`orphans` step in GET /v1/recovery (ms)', col('recoveryMs'), 0],
    ['per orphan file (ms)', col('perFileMs'), 2]
  ]
  log('\n' + table(['measure', 'median', 'min', 'max'], rows.map(([label, s, d]) => [label, fmtNum(s.median, d), fmtNum(s.min, d), fmtNum(s.max, d)])))
  const problems = results.flatMap((r, i) => r.problems.map((p) => `round ${i + 1}: ${p}`))
  if (problems.length > 0) log(`\n!! problems:\n   ${problems.join('\n   ')}`)
  else log('\nevery orphan was discarded in every round; every server stopped cleanly')
  process.exitCode = problems.length > 0 ? 1 : 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
