// Reads-versus-writes suite: PUT latency alone, then while a few clients loop GET /v1/status and GET /v1/queue,
// with 100,000 workspaces in the store (a sixth of them blocked, a sixth queued). A read's cost must be
// its page's, so the readers must not push PUT p99 far up. Runnable alone
// (`npm run build && node bench/reads.mjs`) or from run.mjs.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cannon, fmtInt, fmtNum, freePort, guardChildren, makeTempDir, removeTempDir, startNode, table } from './lib.mjs'
import { REPORT } from './http.mjs'
import { seed } from './startup.mjs'

export const id = 'reads'
export const title = 'PUT latency under dashboard reads'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = join(ROOT, 'dist', 'boot', 'server.js')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const WRITERS = 20
const READERS = 4
// The readers take CPU the PUTs would have had (2 cores, the load generator in this process), so p99 rises
// some; what must not happen is a read holding the event loop for its whole fleet, which pushed it into seconds.
const GOAL_P99_MS = 250

const putOpts = (base) => ({
  url: base,
  connections: WRITERS,
  requests: [{
    method: 'PUT',
    path: '/v1/workspaces/org0/repo0/task-0',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(REPORT),
    // Workspaces of the seed that are running (i ≡ 5 mod 6), so a PUT is an ordinary update.
    setupRequest: (req) => { const i = 6 * Math.floor(Math.random() * 16_000) + 5; return { ...req, path: `/v1/workspaces/org${i % 10}/repo${Math.floor(i / 10) % 100}/task-${i}` } }
  }]
})

/** Runs the suite and prints its table; returns a JSON-able summary for bench/results/latest.json. */
export async function run (log = (l) => process.stdout.write(l + '\n')) {
  const dataDir = makeTempDir()
  log(`\n=== ${title}: 100,000 workspaces, ${WRITERS} PUT connections, ${READERS} looping readers, ${SECONDS} s each ===`)
  await seed(dataDir)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const svc = await startNode({ args: [SERVER], env: { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' }, readyUrl: `${base}/readyz`, timeoutMs: 120_000, name: 'service' })
  try {
    await cannon({ ...putOpts(base), duration: 1 })
    const alone = await cannon({ ...putOpts(base), duration: SECONDS })
    const [loaded, status, queue] = await Promise.all([
      cannon({ ...putOpts(base), duration: SECONDS }),
      cannon({ url: `${base}/v1/status`, connections: READERS / 2, duration: SECONDS }),
      cannon({ url: `${base}/v1/queue`, connections: READERS / 2, duration: SECONDS })
    ])
    const row = (name, r) => [name, fmtInt(r.requests.average), fmtNum(r.latency.p50, 0), fmtNum(r.latency.p99, 0), fmtInt(r.throughput.average / Math.max(1, r.requests.average)), String(r.non2xx + r.errors)]
    log(table(['scenario', 'req/s', 'p50 ms', 'p99 ms', 'B/resp', 'non-2xx+errors'], [
      row('PUT alone', alone), row('PUT with readers', loaded), row('  GET /v1/status (looping)', status), row('  GET /v1/queue (looping)', queue)
    ]))
    const pass = loaded.latency.p99 <= GOAL_P99_MS
    log(`${pass ? 'PASS' : 'FAIL'}  PUT p99 with ${READERS} clients looping /v1/status and /v1/queue ≤ ${GOAL_P99_MS} ms (${loaded.latency.p99} ms; alone ${alone.latency.p99} ms)`)
    return {
      putAlone: { reqPerSec: alone.requests.average, p99: alone.latency.p99 },
      putWithReaders: { reqPerSec: loaded.requests.average, p99: loaded.latency.p99 },
      status: { reqPerSec: status.requests.average, bytesPerResponse: status.throughput.average / Math.max(1, status.requests.average) },
      queue: { reqPerSec: queue.requests.average, bytesPerResponse: queue.throughput.average / Math.max(1, queue.requests.average) },
      goalP99Ms: GOAL_P99_MS,
      pass
    }
  } finally {
    await svc.stop()
    removeTempDir(dataDir)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  guardChildren()
  await run()
}
