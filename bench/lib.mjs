// Helpers shared by the benchmark suites: child processes, ports, temp dirs, autocannon, statistics.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'

// ---------------------------------------------------------------------------------------------
// Child processes: every child is tracked so that an exit, a signal or a crash of the driver
// never leaves a server (and its DuckDB lock) behind.

const children = new Set()
const tempDirs = new Set()

function killAll () {
  for (const child of children) {
    try { child.kill('SIGKILL') } catch {}
  }
  children.clear()
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }) } catch {}
  }
  tempDirs.clear()
}

let guarded = false
/** Installs exit/signal/crash handlers that kill every child started through this module. Idempotent. */
export function guardChildren () {
  if (guarded) return
  guarded = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping child processes\n`)
      killAll()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`)
    killAll()
    process.exit(1)
  })
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection: ${err?.stack ?? err}\n`)
    killAll()
    process.exit(1)
  })
}

/** A fresh temporary directory, removed by `removeTempDir` or at exit at the latest. */
export function makeTempDir (prefix = 'agent-state-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export function removeTempDir (dir) {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** A TCP port that was free a moment ago (the OS picks it; the child binds it right after). */
export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Starts `node <args>` as a child and waits until `readyUrl` answers 2xx.
 * Returns { child, pid, output(), stop() }; `output()` is everything the child wrote so far.
 */
export async function startNode ({ args, env = {}, cwd, readyUrl, timeoutMs = 60000, name = args[0] }) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  let out = ''
  const keep = (chunk) => { out += chunk; if (out.length > 1_000_000) out = out.slice(-500_000) }
  child.stdout.setEncoding('utf8').on('data', keep)
  child.stderr.setEncoding('utf8').on('data', keep)
  let exited = null
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal }
      children.delete(child)
      resolve(exited)
    })
  })

  const started = performance.now()
  for (;;) {
    if (exited !== null) {
      throw new Error(`${name} exited during start-up (code ${exited.code}, signal ${exited.signal}):\n${out}`)
    }
    try {
      const res = await fetch(readyUrl, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.ok) break
    } catch {}
    if (performance.now() - started > timeoutMs) {
      child.kill('SIGKILL')
      throw new Error(`${name} did not answer ${readyUrl} within ${timeoutMs} ms:\n${out}`)
    }
    await sleep(25)
  }
  const readyMs = performance.now() - started

  return {
    child,
    pid: child.pid,
    readyMs,
    output: () => out,
    get exited () { return exited },
    /** SIGTERM, then SIGKILL after `graceMs`. Resolves { code, signal, killed }. */
    async stop (graceMs = 15000) {
      if (exited !== null) return { ...exited, killed: false }
      child.kill('SIGTERM')
      const timer = sleep(graceMs).then(() => 'timeout')
      const first = await Promise.race([exitPromise, timer])
      if (first === 'timeout') {
        child.kill('SIGKILL')
        return { ...(await exitPromise), killed: true }
      }
      return { ...first, killed: false }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting, as in reference/perf.md: the server's from /proc/<pid>/stat, the driver's from process.cpuUsage().

let clkTck = 100
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {}

/** CPU seconds (user+system) used so far by a process, or null where /proc is unavailable. */
export function procCpuSeconds (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / clkTck
  } catch {
    return null
  }
}

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat), or null. */
export function systemBusySeconds () {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
    return busy / clkTck
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------
// autocannon

/** Runs autocannon and resolves its result (rejects on an option error). */
export function cannon (opts) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false, ...opts }, (err, result) => {
      if (err) reject(err)
      else resolve(result)
    })
    // autocannon keeps its own SIGINT handler otherwise; ours kills the children.
    instance.on('error', () => {})
  })
}

/**
 * Measures one load scenario: an unrecorded warm-up, then the measured run, with server and client CPU.
 * Returns the metrics plus every problem found (non-2xx, errors, timeouts, mismatches) in either run.
 */
export async function measure ({ opts, warmupSeconds, seconds, serverPid }) {
  const problems = []
  if (warmupSeconds > 0) {
    const warm = await cannon({ ...opts, duration: warmupSeconds })
    problems.push(...resultProblems(warm, 'warm-up'))
  }
  const cpuServer0 = procCpuSeconds(serverPid)
  const cpuClient0 = process.cpuUsage()
  const sys0 = systemBusySeconds()
  const t0 = performance.now()
  const r = await cannon({ ...opts, duration: seconds })
  const wall = (performance.now() - t0) / 1000
  const cpuServer1 = procCpuSeconds(serverPid)
  const cpuClient1 = process.cpuUsage(cpuClient0)
  const sys1 = systemBusySeconds()
  const serverCpu = cpuServer0 === null || cpuServer1 === null ? null : (cpuServer1 - cpuServer0) / wall
  const clientCpu = (cpuClient1.user + cpuClient1.system) / 1e6 / wall
  // Whatever else the machine did meanwhile (other processes, the kernel's own work not charged to either side).
  const otherCpu = sys0 === null || sys1 === null || serverCpu === null ? null : Math.max(0, (sys1 - sys0) / wall - serverCpu - clientCpu)
  problems.push(...resultProblems(r, 'measured'))
  return {
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    total2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])),
    bytesPerSec: r.throughput.average,
    serverCpu,
    clientCpu,
    otherCpu,
    problems
  }
}

/** Human-readable problems of one autocannon result; empty when every response was 2xx. */
export function resultProblems (r, phase) {
  const p = []
  const codes = Object.entries(r.statusCodeStats ?? {}).filter(([c]) => !c.startsWith('2')).map(([c, v]) => `${c}×${v.count}`)
  if (r.non2xx > 0) p.push(`${phase}: ${r.non2xx} non-2xx responses (${codes.join(', ') || 'codes unknown'})`)
  if (r.errors > 0) p.push(`${phase}: ${r.errors} request errors (${r.timeouts} of them timeouts)`)
  else if (r.timeouts > 0) p.push(`${phase}: ${r.timeouts} timeouts`)
  if (r.mismatches > 0) p.push(`${phase}: ${r.mismatches} body mismatches`)
  if (r['2xx'] === 0) p.push(`${phase}: no 2xx response at all`)
  return p
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

export function median (xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** { median, min, max, values } over the finite numbers in xs. */
export function spread (xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x))
  return { median: median(v), min: v.length ? Math.min(...v) : null, max: v.length ? Math.max(...v) : null, values: xs }
}

export const fmtInt = (x) => x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US')
export const fmtNum = (x, d = 2) => x === null || x === undefined ? '–' : x.toFixed(d)
export const fmtPct = (x) => x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`

/** A plain-text table with right-aligned columns except the first. */
export function table (head, rows) {
  const all = [head, ...rows].map((r) => r.map(String))
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ')
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n')
}
