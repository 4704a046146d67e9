// HTTP suite: the bare Fastify ceilings and the real service under autocannon, one round at a time.
// A suite exports `id`, `title`, `columns`, `scenarios`, `runRound(ctx)` and `goals(summary)`; run.mjs drives it.
import { writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmtInt, fmtNum, measure, freePort, makeTempDir, removeTempDir, startNode } from './lib.mjs'

export const id = 'http'
export const title = 'HTTP throughput'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BARE = fileURLToPath(new URL('./bare-server.mjs', import.meta.url))
const SQLITE = fileURLToPath(new URL('./sqlite-server.mjs', import.meta.url))
const WORKSPACES = 10_000
const CONNECTIONS = 50

/** The PUT body: a realistic report of a running agent, ~300 bytes. */
export const REPORT = {
  status: 'running',
  agent: 'codex:gpt-5.4',
  runs: 1,
  task: 'Add a PID check to the workspace reaper so runs whose agent died are failed with evidence; cover reused PIDs and lease expiry.',
  branch: 'agent/codex/reaper-pid-check',
  issue: 4821,
  host: hostname(),
  // The driver's own PID: alive for the whole run, so a PID-checking reaper would leave these workspaces alone.
  pid: process.pid,
  priority: 0,
  runtime: 'vz'
}
const REPORT_JSON = JSON.stringify(REPORT)

const wsPath = (n) => `/v1/workspaces/bench/repo/ws-${n}`
const randomWs = () => Math.floor(Math.random() * WORKSPACES)
const JSON_HEADERS = { 'content-type': 'application/json' }

/**
 * Scenario metadata, in the order they are measured. `baseline` names the ceiling a ratio is taken
 * against; `peers` name further scenarios of the same round the ratio to which is printed and judged.
 */
export const scenarios = [
  { id: 'bare-post', label: 'bare POST /bare (ceiling)', ceiling: true },
  { id: 'bare-get', label: 'bare GET /bare (ceiling)', ceiling: true },
  { id: 'sqlite-normal', label: 'peer: Fastify + better-sqlite3 PUT, WAL, synchronous=NORMAL', baseline: 'bare-post' },
  { id: 'sqlite-full', label: 'peer: Fastify + better-sqlite3 PUT, WAL, synchronous=FULL', baseline: 'bare-post' },
  { id: 'put', label: 'PUT /v1/workspaces/bench/repo/ws-<n> (durable)', baseline: 'bare-post', peers: ['sqlite-normal', 'sqlite-full'] },
  { id: 'heartbeat', label: 'POST /v1/workspaces/bench/repo/ws-<n>/heartbeat', baseline: 'bare-post' },
  { id: 'one', label: 'GET /v1/workspaces/bench/repo/ws-<n>', baseline: 'bare-one' },
  { id: 'list-10', label: 'GET /v1/workspaces?limit=10', baseline: 'bare-list-10' },
  { id: 'list-100', label: 'GET /v1/workspaces (limit 100)', baseline: 'bare-list-100' },
  { id: 'status', label: 'GET /v1/status', baseline: 'bare-status' },
  { id: 'pools', label: 'GET /v1/pools', baseline: 'bare-pools' },
  // The read ceilings: the bare server answering each read's bytes as the service sent them in this round.
  { id: 'bare-one', label: 'bare GET, the bytes of one workspace (ceiling)', ceiling: true },
  { id: 'bare-list-10', label: 'bare GET, the bytes of a list of 10 (ceiling)', ceiling: true },
  { id: 'bare-list-100', label: 'bare GET, the bytes of a list of 100 (ceiling)', ceiling: true },
  { id: 'bare-status', label: 'bare GET, the bytes of /v1/status (ceiling)', ceiling: true },
  { id: 'bare-pools', label: 'bare GET, the bytes of /v1/pools (ceiling)', ceiling: true }
]

/** The reads measured on the service, each with the bare ceiling that answers its bytes. */
const READS = [
  ['one', wsPath(0)],
  ['list-10', '/v1/workspaces?limit=10'],
  ['list-100', '/v1/workspaces'],
  ['status', '/v1/status'],
  ['pools', '/v1/pools']
]

/** Columns of the per-scenario tables (run.mjs adds the ratio). */
export const columns = [
  { key: 'reqPerSec', head: 'req/s', fmt: fmtInt },
  { key: 'p50', head: 'p50 ms', fmt: (x) => fmtNum(x, 0) },
  { key: 'p99', head: 'p99 ms', fmt: (x) => fmtNum(x, 0) },
  { key: 'serverCpu', head: 'srv CPU', fmt: (x) => fmtNum(x, 2) },
  { key: 'clientCpu', head: 'cli CPU', fmt: (x) => fmtNum(x, 2) },
  { key: 'otherCpu', head: 'other CPU', fmt: (x) => fmtNum(x, 2) },
  // The server's CPU per answer: steadier than req/s when other processes share the cores.
  { key: 'cpuUsPerReq', head: 'srv µs/req', fmt: fmtInt },
  { key: 'bytesPerResponse', head: 'B/resp', fmt: fmtInt }
]

/** Runs one round: the bare server's two ceilings, the SQLite peer at both settings, then the service's scenarios. */
export async function runRound ({ round, seconds, warmupSeconds, log }) {
  const results = {}
  const problems = []
  const notes = []
  const info = {}

  // --- the ceilings -----------------------------------------------------------------------
  {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const bare = await startNode({ name: 'bare-server', args: [BARE], cwd: ROOT, env: { PORT: String(port) }, readyUrl: `${base}/bare` })
    try {
      results['bare-post'] = await run(bare, log, 'bare-post', {
        url: `${base}/bare`, method: 'POST', headers: JSON_HEADERS, body: REPORT_JSON
      }, { seconds, warmupSeconds })
      results['bare-get'] = await run(bare, log, 'bare-get', { url: `${base}/bare` }, { seconds, warmupSeconds })
    } finally {
      const exit = await bare.stop()
      if (exit.code !== 0) problems.push(`bare server exited with code ${exit.code} signal ${exit.signal}`)
    }
  }

  // --- the peer ---------------------------------------------------------------------------------
  for (const synchronous of ['NORMAL', 'FULL']) {
    const id = `sqlite-${synchronous.toLowerCase()}`
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const dir = makeTempDir()
    const peer = await startNode({
      name: id,
      args: [SQLITE],
      cwd: ROOT,
      env: { PORT: String(port), DB: `${dir}/peer.sqlite`, SYNCHRONOUS: synchronous },
      readyUrl: `${base}/ready`
    }).catch((err) => { removeTempDir(dir); throw err })
    try {
      problems.push(...(await preloadWorkspaces(base, WORKSPACES, CONNECTIONS)).problems)
      results[id] = await run(peer, log, id, putRequests(base), { seconds, warmupSeconds })
    } finally {
      const exit = await peer.stop()
      if (exit.code !== 0) problems.push(`${id} exited with code ${exit.code} signal ${exit.signal}`)
      removeTempDir(dir)
    }
  }

  // --- the service --------------------------------------------------------------------------
  const answers = []
  {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const dataDir = makeTempDir()
    const svc = await startNode({
      name: 'agent-state',
      args: ['dist/boot/server.js'],
      cwd: ROOT,
      env: { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      readyUrl: `${base}/readyz`
    })
    info.serviceReadyMs = svc.readyMs
    try {
      // Every workspace exists before the PUT scenario, so the PUTs update rows like agents reporting do.
      const t0 = performance.now()
      const preload = await preloadWorkspaces(base, WORKSPACES, CONNECTIONS)
      info.preloadSeconds = (performance.now() - t0) / 1000
      info.preloadReqPerSec = WORKSPACES / info.preloadSeconds
      problems.push(...preload.problems)
      log(`  preload: ${WORKSPACES} workspaces in ${fmtNum(info.preloadSeconds, 2)} s (${fmtInt(info.preloadReqPerSec)} PUT/s)`)

      results.put = await run(svc, log, 'put', putRequests(base), { seconds, warmupSeconds })
      // Every workspace is running after the PUTs: a heartbeat for any of them is answered 200.
      results.heartbeat = await run(svc, log, 'heartbeat', {
        url: base,
        requests: [{ method: 'POST', path: `${wsPath(0)}/heartbeat`, setupRequest: (req) => ({ ...req, path: `${wsPath(randomWs())}/heartbeat` }) }]
      }, { seconds, warmupSeconds })
      results.one = await run(svc, log, 'one', {
        url: base,
        requests: [{ method: 'GET', path: wsPath(0), setupRequest: (req) => ({ ...req, path: wsPath(randomWs()) }) }]
      }, { seconds, warmupSeconds })

      const status = await getJson(`${base}/v1/status`)
      info.trackedAfterPut = status?.total ?? null
      if (status?.total !== WORKSPACES) problems.push(`after the PUTs /v1/status says total ${status?.total}, expected ${WORKSPACES}`)

      for (const [id, path] of READS.slice(1)) {
        results[id] = await run(svc, log, id, { url: `${base}${path}` }, { seconds, warmupSeconds })
      }
      // What each read answered, byte for byte, for the bare server to answer after this.
      for (const [id, path] of READS) {
        const res = await fetch(`${base}${path}`)
        answers.push({ path: `/bare/${id}`, contentType: res.headers.get('content-type'), body: await res.text() })
      }

      const ready = await getJson(`${base}/readyz`)
      info.storeAtEnd = ready?.store ?? null
      if (ready?.store !== 'ok') problems.push(`service store is ${JSON.stringify(ready)} after the load (expected ok)`)
    } finally {
      const exit = await svc.stop()
      info.serviceExit = exit
      if (exit.code !== 0 || exit.killed) problems.push(`service exited with code ${exit.code} signal ${exit.signal}${exit.killed ? ' (had to be killed)' : ''}`)
      const logged = classifyOutput(svc.output())
      notes.push(...logged.notes.map((n) => `service: ${n}`))
      if (logged.problems.length > 0) problems.push(`service logged ${logged.problems.length} unexpected warn/error lines, first: ${logged.problems[0].slice(0, 500)}`)
      removeTempDir(dataDir)
    }
  }

  // --- the read ceilings: the same bytes, from a server that does nothing else --------------------
  if (answers.length === READS.length) {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const dir = makeTempDir()
    const file = join(dir, 'answers.json')
    writeFileSync(file, JSON.stringify(answers))
    info.readBytes = Object.fromEntries(answers.map((a) => [a.path.slice('/bare/'.length), Buffer.byteLength(a.body)]))
    const bare = await startNode({ name: 'bare-server (reads)', args: [BARE], cwd: ROOT, env: { PORT: String(port), BARE_ANSWERS: file }, readyUrl: `${base}/bare` })
    try {
      for (const a of answers) {
        const id = `bare-${a.path.slice('/bare/'.length)}`
        results[id] = await run(bare, log, id, { url: `${base}${a.path}` }, { seconds, warmupSeconds })
      }
    } finally {
      const exit = await bare.stop()
      if (exit.code !== 0) problems.push(`bare server (reads) exited with code ${exit.code} signal ${exit.signal}`)
      removeTempDir(dir)
    }
  }

  for (const s of scenarios) {
    const r = results[s.id]
    if (r === undefined) continue
    const ratioTo = (id) => results[id]?.reqPerSec > 0 ? r.reqPerSec / results[id].reqPerSec : null
    if (s.baseline !== undefined) r.ratio = ratioTo(s.baseline)
    // Issue 23: a tail within twice the ceiling's own in the same round (the machine's noise hits both).
    if (s.baseline !== undefined && results[s.baseline]?.p99 > 0) r.p99Ratio = r.p99 / results[s.baseline].p99
    if (s.peers !== undefined) r.peerRatios = Object.fromEntries(s.peers.map((id) => [id, ratioTo(id)]))
  }
  return { results, problems, notes, info }
}

/** Random PUTs of the running report over the preloaded workspaces: the service's and the peer's write load. */
function putRequests (base) {
  return {
    url: base,
    requests: [{
      method: 'PUT',
      path: wsPath(0),
      headers: JSON_HEADERS,
      body: REPORT_JSON,
      setupRequest: (req) => ({ ...req, path: wsPath(randomWs()) })
    }]
  }
}

/** One scenario: warm-up + measurement, with the bytes per response and a progress line. */
async function run (server, log, id, opts, { seconds, warmupSeconds }) {
  const m = await measure({ opts: { connections: CONNECTIONS, ...opts }, seconds, warmupSeconds, serverPid: server.pid })
  m.bytesPerResponse = m.reqPerSec > 0 ? m.bytesPerSec / m.reqPerSec : null
  m.cpuUsPerReq = m.reqPerSec > 0 && m.serverCpu !== null ? m.serverCpu / m.reqPerSec * 1e6 : null
  const label = scenarios.find((s) => s.id === id).label
  log(`  ${label}: ${fmtInt(m.reqPerSec)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, CPU server ${fmtNum(m.serverCpu)} client ${fmtNum(m.clientCpu)} other ${fmtNum(m.otherCpu)}` +
    (m.problems.length > 0 ? `  !! ${m.problems.join('; ')}` : ''))
  return m
}

/** PUTs ws-0 … ws-(count-1) once each, `concurrency` at a time; every answer must be 201. */
async function preloadWorkspaces (base, count, concurrency) {
  const problems = []
  const codes = {}
  let failures = 0
  let next = 0
  async function worker () {
    while (next < count) {
      const n = next++
      try {
        const res = await fetch(`${base}${wsPath(n)}`, { method: 'PUT', headers: JSON_HEADERS, body: REPORT_JSON })
        await res.arrayBuffer()
        codes[res.status] = (codes[res.status] ?? 0) + 1
      } catch (err) {
        failures++
        if (failures === 1) problems.push(`preload: request error ${err.cause?.code ?? err.message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const odd = Object.entries(codes).filter(([c]) => c !== '201')
  if (odd.length > 0) problems.push(`preload: status codes other than 201: ${odd.map(([c, k]) => `${c}×${k}`).join(', ')}`)
  if (failures > 0) problems.push(`preload: ${failures} request errors`)
  return { problems }
}

async function getJson (url) {
  try {
    const res = await fetch(url)
    return await res.json()
  } catch {
    return null
  }
}

/**
 * Sorts the service's output: Node process warnings (deprecations at start-up) are notes; pino records at
 * warn or above other than the expected "AUTH_TOKENS is empty" warning, and any other stray line, are problems.
 */
function classifyOutput (output) {
  const notes = []
  const problems = []
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue
    if (/^\(node:\d+\) /.test(line)) { notes.push(line.replace(/^\(node:\d+\) /, '')); continue }
    if (line.startsWith('(Use `node --trace-')) continue
    let rec
    try { rec = JSON.parse(line) } catch { problems.push(line); continue }
    if (rec.level < 40) continue
    if (typeof rec.msg === 'string' && rec.msg.startsWith('AUTH_TOKENS is empty')) continue
    problems.push(line)
  }
  return { notes, problems }
}

/** The goals of issue 12, judged on the median same-round ratio (or p99); a scenario with any error or non-2xx cannot pass. */
export function goals (summary) {
  const check = (sid, target, spreadOf, atMost = false) => {
    const s = summary[sid]
    const r = s === undefined ? undefined : spreadOf(s)
    const clean = s !== undefined && s.problemCount === 0
    const median = r?.median ?? null
    const pass = median !== null && (atMost ? median <= target : median >= target) && clean
    return { scenario: sid, target, atMost, median, min: r?.min ?? null, max: r?.max ?? null, clean, pass }
  }
  const ratio = (sid, target) => check(sid, target, (s) => s.ratio)
  const peer = (sid, id, target) => ({ ...check(sid, target, (s) => s.peerRatio?.[id]), versus: id })
  return [
    { goal: 'durable PUT ≥ 1.0× the SQLite NORMAL peer and ≥ 3× the FULL peer, p99 ≤ 2× the bare POST\'s p99 in the same round', checks: [peer('put', 'sqlite-normal', 1), peer('put', 'sqlite-full', 3), { ...check('put', 2, (s) => s.p99Ratio, true), what: 'p99 ÷ bare-post p99' }] },
    { goal: 'heartbeats ≥ 80% of the bare POST ceiling', checks: [ratio('heartbeat', 0.8)] },
    { goal: 'reads ≥ 80% of a bare server answering the same bytes: status, one workspace, pools, a list of 10', checks: [ratio('status', 0.8), ratio('one', 0.8), ratio('pools', 0.8), ratio('list-10', 0.8)] }
  ]
}
