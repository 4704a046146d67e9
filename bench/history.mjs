// History suite: the stats query over 1,000,000 history rows, write throughput with and without run history
// (same run, same seeded store), and an online backup of a store with 100,000 workspaces and 1,000,000
// history rows under write load. Runnable alone (`npm run build && node bench/history.mjs`) or from run.mjs.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { cannon, fmtInt, freePort, guardChildren, makeTempDir, median, removeTempDir, startNode, table } from './lib.mjs'

export const id = 'history'
export const title = 'Run history, stats and backup'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = join(ROOT, 'dist', 'boot', 'server.js')
const HISTORY_ROWS = 1_000_000
const WORKSPACES = 100_000
const STATS_CALLS = 15
const WRITE_SECONDS = 5
const ROUNDS = 2
const GOALS = { statsMs: 200, writeRatio: 0.9, backupMs: 5000, stallMs: 100 }

/** The schema comes from the service itself (its migrations); the rows are bulk-loaded by SQL. */
async function seed (dataDir) {
  const port = await freePort()
  const s = await startNode({ args: [SERVER], env: { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' }, readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: 120000, name: 'service (seed)' })
  await s.stop()
  const instance = await DuckDBInstance.create(join(dataDir, '.core', 'db.duckdb'))
  const conn = await instance.connect()
  // Ends spread evenly over the last 30 days, in time order as the service appends them; 7 models in 3 pools.
  await conn.run(`INSERT INTO run_history
    SELECT format('org{}/repo{}/task-{}', i % 10, i % 100, i % ${WORKSPACES}), 'org' || (i % 10), 'repo' || (i % 100),
      ['codex', 'claude', 'gemini'][i % 3 + 1], ['codex', 'claude', 'gemini'][i % 3 + 1] || ':model-' || (i % 7), 'model-' || (i % 7),
      1 + i % 5, 'host-' || (i % 8), ended - to_seconds(dur), ended, dur,
      ['completed', 'completed', 'failed', 'reaped', 'blocked', 'merged'][i % 6 + 1], CASE WHEN i % 6 = 3 THEN 'lease_expired' END
    FROM (SELECT i, now() - to_seconds(30 * 86400 * (1 - i / ${HISTORY_ROWS})) AS ended, (30 + (i * 7919) % 3600)::DOUBLE AS dur
      FROM range(${HISTORY_ROWS}) t(i))`)
  await conn.run(`INSERT INTO entries SELECT 'registry', name, json_object('name', name, 'org', 'org' || (i % 10), 'repo', 'repo' || (i % 100),
      'leaf', 'task-' || i, 'status', 'completed', 'agent', 'codex:gpt-5.4', 'pool', 'codex', 'runs', 1,
      'task', 'Port the reaper to the new store and cover PID reuse with a test.', 'priority', 0, 'host', 'remote-host',
      'started_at', strftime(now(), '%Y-%m-%dT%H:%M:%S.000Z'), 'updated_at', strftime(now(), '%Y-%m-%dT%H:%M:%S.000Z'))::VARCHAR, now()
    FROM (SELECT i, format('org{}/repo{}/task-{}', i % 10, i % 100, i) AS name FROM range(${WORKSPACES}) t(i))`)
  await conn.run('CHECKPOINT')
  conn.closeSync()
  instance.closeSync()
}

async function start (dataDir, env = {}) {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const s = await startNode({ args: [SERVER], env: { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', ...env }, readyUrl: `${url}/readyz`, timeoutMs: 120000, name: 'service' })
  return { ...s, url }
}

/** Each connection ends a run every second request: running (runs n), then completed (runs n), then n + 1. */
function runEndingPuts (url, seconds, tag) {
  let connections = 0
  return cannon({
    url,
    connections: 50,
    duration: seconds,
    requests: [{
      method: 'PUT',
      setupRequest: (req, context) => {
        context.name ??= `bench/history/${tag}-${connections++}`
        context.step = (context.step ?? 0) + 1
        const runs = Math.ceil(context.step / 2)
        const status = context.step % 2 === 1 ? 'running' : 'completed'
        return { ...req, path: `/v1/workspaces/${context.name}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status, agent: 'codex:gpt-5.4', runs, task: 'bench', host: 'remote-host' }) }
      }
    }]
  })
}

async function statsTimes (url, since) {
  const times = []
  for (let i = 0; i <= STATS_CALLS; i++) {
    const t0 = performance.now()
    const res = await fetch(`${url}/v1/stats/runs?by=model&since=${since}`)
    const body = await res.json()
    if (res.status !== 200 || body.groups.length !== 7) throw new Error(`stats answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`)
    if (i > 0) times.push(performance.now() - t0) // the first call warms DuckDB's buffers
  }
  return times
}

export async function run (log = (l) => process.stdout.write(l + '\n')) {
  log(`\n=== ${title}: ${fmtInt(HISTORY_ROWS)} history rows over 30 days, ${fmtInt(WORKSPACES)} workspaces ===`)
  const dataDir = makeTempDir()
  const t0 = performance.now()
  await seed(dataDir)
  log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const since = new Date(Date.now() - 30 * 86400_000).toISOString()
  const rows = []
  const result = { stats: [], withHistory: [], without: [], backups: [] }
  for (let round = 1; round <= ROUNDS; round++) {
    // Without history first, then with, on the same store: the same data, the same disk.
    const off = await start(dataDir, { HISTORY_RETENTION_DAYS: '0' })
    const w0 = await runEndingPuts(off.url, WRITE_SECONDS, `off${round}`)
    await off.stop()
    const on = await start(dataDir)
    const w1 = await runEndingPuts(on.url, WRITE_SECONDS, `on${round}`)
    const stats = await statsTimes(on.url, since)
    // A backup under the same write load: its own figures, and the worst write latency the load saw.
    const load = runEndingPuts(on.url, 4, `bk${round}`)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const res = await fetch(`${on.url}/v1/backups`, { method: 'POST' })
    const backup = await res.json()
    const loaded = await load
    if (res.status !== 201) throw new Error(`backup answered ${res.status}: ${JSON.stringify(backup)}`)
    await on.stop()
    for (const w of [w0, w1, loaded]) if (w.non2xx > 0 || w.errors > 0) throw new Error(`write load saw ${w.non2xx} non-2xx and ${w.errors} errors`)
    const b = backup.backup
    result.stats.push(median(stats))
    result.without.push(w0.requests.average)
    result.withHistory.push(w1.requests.average)
    result.backups.push({ ms: b.duration_ms, stallMs: b.write_stall_ms, bytes: b.bytes, maxWriteMs: loaded.latency.max, maxWriteMsNoBackup: w1.latency.max })
    rows.push([String(round), fmtInt(median(stats)), fmtInt(Math.max(...stats)), fmtInt(w0.requests.average), fmtInt(w1.requests.average),
      `${((w1.requests.average / w0.requests.average) * 100).toFixed(1)}%`, fmtInt(b.duration_ms), fmtInt(b.write_stall_ms),
      fmtInt(loaded.latency.max), fmtInt(w1.latency.max), `${(b.bytes / 2 ** 20).toFixed(0)} MiB`])
  }
  log(table(['round', 'stats p50 ms', 'stats max ms', 'PUT/s no history', 'PUT/s history', 'ratio', 'backup ms', 'stall ms', 'max write ms (backup)', 'max write ms (none)', 'backup size'], rows))
  const statsMs = median(result.stats)
  const ratio = median(result.withHistory) / median(result.without)
  const backupMs = median(result.backups.map((b) => b.ms))
  const stallMs = Math.max(...result.backups.map((b) => b.stallMs))
  const goals = [
    [statsMs < GOALS.statsMs, `stats by model over 30 days of ${fmtInt(HISTORY_ROWS)} rows: median ${fmtInt(statsMs)} ms, target < ${GOALS.statsMs} ms`],
    [ratio >= GOALS.writeRatio, `run-ending writes with history at ${(ratio * 100).toFixed(1)}% of the throughput without, target ≥ ${GOALS.writeRatio * 100}%`],
    [backupMs < GOALS.backupMs, `backup of ${fmtInt(WORKSPACES)} workspaces + ${fmtInt(HISTORY_ROWS)} history rows: median ${fmtInt(backupMs)} ms, target < ${GOALS.backupMs} ms`],
    [stallMs <= GOALS.stallMs, `write stall during a backup (the statement that holds off checkpoints): worst ${fmtInt(stallMs)} ms, target ≤ ${GOALS.stallMs} ms`]
  ]
  for (const [pass, text] of goals) log(`${pass ? 'PASS' : 'FAIL'}  ${text}`)
  removeTempDir(dataDir)
  return { ...result, statsMs, ratio, backupMs, stallMs, goals: goals.map(([pass, text]) => ({ pass, text })) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  guardChildren()
  await run()
}
