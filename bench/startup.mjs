// Start-up suite: process start → /readyz 200 with 100,000 workspaces in the store and 10,000
// status.json files on the volume, against an empty data folder and against the floor (floor-server.mjs:
// fastify and @duckdb/node-api imported, a DuckDB file opened, /readyz answered), all three measured
// in turn in each round. Runnable alone (`npm run build && node bench/startup.mjs`) or from run.mjs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { DuckDBInstance, LIST, VARCHAR, listValue } from '@duckdb/node-api'
import { fmtInt, freePort, guardChildren, makeTempDir, median, removeTempDir, startNode, table } from './lib.mjs'

export const id = 'startup'
export const title = 'Start-up time'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = join(ROOT, 'dist', 'boot', 'server.js')
const FLOOR = join(ROOT, 'bench', 'floor-server.mjs')
const STORED = 100_000
const FILES = 10_000
const STARTS = Number(process.env.BENCH_STARTS ?? 3)
// Issue 23: a loaded start within 1.5× an empty one, an empty one within 2× the floor, RSS at ready ≤ 300 MiB.
const GOAL_LOADED_RATIO = 1.5
const GOAL_FLOOR_RATIO = 2
const GOAL_RSS_MIB = 300
const SETTLE_MS = 2000

const STATUSES = ['completed', 'merged', 'failed', 'blocked', 'queued', 'running']

function record (i, now) {
  const org = `org${i % 10}`
  const repo = `repo${Math.floor(i / 10) % 100}`
  const leaf = `task-${i}`
  const status = STATUSES[i % STATUSES.length]
  return {
    name: `${org}/${repo}/${leaf}`,
    org,
    repo,
    leaf,
    status,
    agent: i % 2 ? 'codex:gpt-5.4' : 'claude:opus',
    pool: i % 2 ? 'codex' : 'claude',
    runs: 1,
    task: 'Port the reaper to the new store and cover PID reuse with a test.',
    branch: `agent/task-${i}`,
    issue: i,
    // Remote agents: the start-up reaper checks their leases, not PIDs, so none is reaped here.
    host: 'remote-host',
    priority: 0,
    started_at: now,
    ...(status === 'queued' ? { queued_at: now } : {}),
    updated_at: now,
    ...(status === 'running' ? { heartbeat_at: now } : {})
  }
}

/** Creates the store through the service itself (schema and migrations), then bulk-loads it and writes the files. */
export async function seed (dataDir) {
  const port = await freePort()
  const s = await startNode({ args: [SERVER], env: { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' }, readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: 60000, name: 'service (seed)' })
  await s.stop()
  const now = new Date().toISOString()
  const instance = await DuckDBInstance.create(join(dataDir, '.core', 'db.duckdb'))
  const conn = await instance.connect()
  const CHUNK = 10_000
  for (let start = 0; start < STORED; start += CHUNK) {
    const grp = []; const key = []; const value = []; const at = []
    for (let i = start; i < start + CHUNK; i++) {
      const r = record(i, now)
      grp.push('registry'); key.push(r.name); value.push(JSON.stringify(r)); at.push(now)
      if (r.status === 'queued') {
        grp.push('queue'); key.push(r.name); at.push(now)
        value.push(JSON.stringify({ name: r.name, org: r.org, repo: r.repo, branch: r.branch, task: r.task, agent: r.agent, pool: r.pool, priority: 0, queued_at: now }))
      }
    }
    await conn.run('INSERT INTO entries SELECT unnest($1), unnest($2), unnest($3), unnest($4)::TIMESTAMPTZ', [listValue(grp), listValue(key), listValue(value), listValue(at)], [LIST(VARCHAR), LIST(VARCHAR), LIST(VARCHAR), LIST(VARCHAR)])
  }
  await conn.run('CHECKPOINT')
  conn.closeSync()
  instance.closeSync()
  // The files agree with the store (the steady state after a clean stop): every one is read and compared.
  for (let i = 0; i < FILES; i++) {
    const r = record(i * (STORED / FILES), now)
    const dir = join(dataDir, 'workspace', r.org, r.repo, r.leaf)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'status.json'), JSON.stringify(r, null, 2))
  }
}

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

/** One start: process spawn → /readyz 200, and the service's own step timings. */
async function startOnce (dataDir) {
  const port = await freePort()
  const t0 = performance.now()
  const s = await startNode({ args: [SERVER], env: { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' }, readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: 60000, name: 'service' })
  const ms = performance.now() - t0
  const recovery = await (await fetch(`http://127.0.0.1:${port}/v1/recovery`)).json()
  const rss = rssMiB(s.pid)
  // Again once the service has idled: DuckDB's allocator gives freed pages back from a background thread.
  await sleep(SETTLE_MS)
  const settled = rssMiB(s.pid)
  const stop = await s.stop()
  return { ms, recovery, rssMiB: rss, settledMiB: settled, cleanStop: stop.code === 0 && !stop.killed }
}

/** One start of the floor server: process spawn → /readyz 200 (the first creates its file, as the first empty start does). */
async function floorOnce (dir) {
  const port = await freePort()
  const t0 = performance.now()
  const s = await startNode({ args: [FLOOR], env: { DATA_DIR: dir, PORT: String(port) }, readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: 60000, name: 'floor' })
  const ms = performance.now() - t0
  const rss = rssMiB(s.pid)
  await s.stop()
  return { ms, rssMiB: rss }
}

/** Runs the suite and prints its table; returns a JSON-able summary for bench/results/latest.json. */
export async function run (log = (l) => process.stdout.write(l + '\n')) {
  const floorDir = makeTempDir()
  const empty = makeTempDir()
  const full = makeTempDir()
  log(`\n=== ${title}: ${fmtInt(STORED)} workspaces in the store + ${fmtInt(FILES)} status.json files, ${STARTS} starts each ===`)
  const t0 = performance.now()
  await seed(full)
  log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const rows = []
  const floor = []
  const baseline = []
  const loaded = []
  const loadedRatio = []
  const floorRatio = []
  const rss = []
  const settled = []
  const steps = []
  for (let i = 0; i < STARTS; i++) {
    // In turn, so machine noise hits all three alike; each ratio is taken within its round.
    const fl = await floorOnce(floorDir)
    const b = await startOnce(empty)
    const f = await startOnce(full)
    floor.push(fl.ms)
    baseline.push(b.ms)
    loaded.push(f.ms)
    loadedRatio.push(f.ms / b.ms)
    floorRatio.push(b.ms / fl.ms)
    rss.push(f.rssMiB)
    settled.push(f.settledMiB)
    steps.push(f.recovery.timings_ms)
    const h = f.recovery.hydrated
    rows.push([String(i + 1), fmtInt(fl.ms), fmtInt(b.ms), (b.ms / fl.ms).toFixed(2) + '×', fmtInt(f.ms), (f.ms / b.ms).toFixed(2) + '×', fmtInt(h.from_store), fmtInt(h.files_read),
      Object.entries(f.recovery.timings_ms).map(([k, v]) => `${k} ${Math.round(v)}`).join(', '), fmtInt(f.rssMiB), fmtInt(f.settledMiB), f.cleanStop && b.cleanStop ? 'yes' : 'NO'])
  }
  log(table(['start', 'floor ms', 'empty ms', 'empty÷floor', 'loaded ms', 'loaded÷empty', 'from store', 'files', 'loaded start: service steps (ms)', 'RSS at ready MiB', `RSS ${SETTLE_MS / 1000} s later`, 'clean stop'], rows))
  const m = median(loaded)
  const rssMedian = median(rss)
  const checks = {
    loaded: { median: median(loadedRatio), min: Math.min(...loadedRatio), max: Math.max(...loadedRatio), target: GOAL_LOADED_RATIO },
    floor: { median: median(floorRatio), min: Math.min(...floorRatio), max: Math.max(...floorRatio), target: GOAL_FLOOR_RATIO },
    rss: { median: rssMedian, min: Math.min(...rss), max: Math.max(...rss), target: GOAL_RSS_MIB }
  }
  for (const c of Object.values(checks)) c.pass = c.median !== null && c.median <= c.target
  log(`medians: floor ${fmtInt(median(floor))} ms, empty folder ${fmtInt(median(baseline))} ms, loaded ${fmtInt(m)} ms`)
  log(`${checks.loaded.pass ? 'PASS' : 'FAIL'}  a start with ${fmtInt(STORED)} stored workspaces and ${fmtInt(FILES)} files ≤ ${GOAL_LOADED_RATIO}× an empty start (median same-round ratio ${checks.loaded.median.toFixed(2)}× [${checks.loaded.min.toFixed(2)}..${checks.loaded.max.toFixed(2)}])`)
  log(`${checks.floor.pass ? 'PASS' : 'FAIL'}  an empty start ≤ ${GOAL_FLOOR_RATIO}× the floor (median same-round ratio ${checks.floor.median.toFixed(2)}× [${checks.floor.min.toFixed(2)}..${checks.floor.max.toFixed(2)}])`)
  log(`${checks.rss.pass ? 'PASS' : 'FAIL'}  RSS at ready ≤ ${GOAL_RSS_MIB} MiB with ${fmtInt(STORED)} workspaces (median ${fmtInt(rssMedian)} MiB; ${fmtInt(median(settled))} MiB ${SETTLE_MS / 1000} s later)`)
  removeTempDir(floorDir)
  removeTempDir(empty)
  removeTempDir(full)
  const goals = [
    { goal: `start-up with ${fmtInt(STORED)} workspaces + ${fmtInt(FILES)} status.json ≤ ${GOAL_LOADED_RATIO}× an empty start`, checks: [{ ...checks.loaded, what: 'loaded ÷ empty', unit: '×' }] },
    { goal: `an empty start ≤ ${GOAL_FLOOR_RATIO}× the floor (fastify + @duckdb/node-api + a DuckDB open + /readyz)`, checks: [{ ...checks.floor, what: 'empty ÷ floor', unit: '×' }] },
    { goal: `RSS at ready after that start-up ≤ ${GOAL_RSS_MIB} MiB`, checks: [{ ...checks.rss, what: 'RSS at ready', unit: ' MiB' }] }
  ]
  return { stored: STORED, files: FILES, floorMs: floor, emptyMs: baseline, loadedMs: loaded, medianMs: m, steps, rssMiB: rss, settledRssMiB: settled, goals, pass: Object.values(checks).every((c) => c.pass) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  guardChildren()
  await run()
}
