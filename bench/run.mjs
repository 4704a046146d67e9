// `npm run bench`: runs every suite for BENCH_ROUNDS rounds, prints per-scenario tables with same-round
// ratios and their medians, judges the goals and writes bench/results/latest.json.
// Env: BENCH_ROUNDS (3), BENCH_SECONDS (5, per scenario), BENCH_WARMUP_SECONDS (1), BENCH_SUITES (all:
// http,startup,orphans,history,reads; a comma list runs only those).
// Exit code: 0 when every request succeeded (whatever the goals say), 1 when any scenario saw errors.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { fmtNum, fmtPct, guardChildren, spread, table } from './lib.mjs'
import * as history from './history.mjs'
import * as http from './http.mjs'
import * as orphans from './orphans.mjs'
import * as reads from './reads.mjs'
import * as startup from './startup.mjs'

const ALL_SUITES = ['http', 'startup', 'orphans', 'history', 'reads']
const chosen = new Set((process.env.BENCH_SUITES ?? ALL_SUITES.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== ''))
for (const id of chosen) {
  if (!ALL_SUITES.includes(id)) {
    process.stderr.write(`bench: BENCH_SUITES names an unknown suite "${id}" (known: ${ALL_SUITES.join(', ')})\n`)
    process.exit(2)
  }
}

// A later suite with rounds is another module with the same exports, added here.
const SUITES = [http].filter((s) => chosen.has(s.id))

function intEnv (name, dflt, min) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return dflt
  const v = Number(raw)
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`bench: ${name} must be an integer ≥ ${min} (got "${raw}")\n`)
    process.exit(2)
  }
  return v
}

const config = {
  rounds: intEnv('BENCH_ROUNDS', 3, 1),
  seconds: intEnv('BENCH_SECONDS', 5, 1),
  warmupSeconds: intEnv('BENCH_WARMUP_SECONDS', 1, 0)
}

const require = createRequire(import.meta.url)
const versions = {
  node: process.version,
  fastify: require('fastify/package.json').version,
  autocannon: require('autocannon/package.json').version,
  duckdb: require('@duckdb/node-api/package.json').version,
  betterSqlite3: require('better-sqlite3/package.json').version
}
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memGiB: +(totalmem() / 2 ** 30).toFixed(1), platform: `${process.platform} ${process.arch}` }

const log = (line) => process.stdout.write(line + '\n')

guardChildren()

log(`agent-state bench: ${config.rounds} rounds, ${config.seconds} s per scenario after a ${config.warmupSeconds} s warm-up, 50 connections`)
log(`machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGiB} GiB; node ${versions.node}, fastify ${versions.fastify}, autocannon ${versions.autocannon}, @duckdb/node-api ${versions.duckdb}, better-sqlite3 ${versions.betterSqlite3}`)
log('the load generator (autocannon) runs in this process; each server is a child process, so on 2 cores they get about one core each')

const started = new Date()
const rounds = []
for (let round = 1; round <= config.rounds; round++) {
  const entry = { round, suites: {} }
  for (const suite of SUITES) {
    log(`\nround ${round}/${config.rounds}, ${suite.title}`)
    entry.suites[suite.id] = await suite.runRound({ round, ...config, log })
    for (const p of entry.suites[suite.id].problems) log(`  !! ${p}`)
  }
  rounds.push(entry)
}

// --- summary ---------------------------------------------------------------------------------
const report = { started: started.toISOString(), finished: null, config, machine, versions, suites: {} }
let anyProblem = false

for (const suite of SUITES) {
  const perRound = rounds.map((r) => r.suites[suite.id])
  const summary = {}
  const roundProblems = perRound.flatMap((r, i) => r.problems.map((p) => `round ${i + 1}: ${p}`))
  if (roundProblems.length > 0) anyProblem = true

  log(`\n=== ${suite.title}: per scenario, one row per round (ratio = req/s ÷ the matching ceiling's req/s in the same round) ===`)
  for (const sc of suite.scenarios) {
    const rows = perRound.map((r) => r.results[sc.id])
    const problems = rows.flatMap((m, i) => (m?.problems ?? []).map((p) => `round ${i + 1} ${p}`))
    if (problems.length > 0) anyProblem = true
    const s = { label: sc.label, baseline: sc.baseline ?? null, problemCount: problems.length, problems }
    for (const c of suite.columns) s[c.key] = spread(rows.map((m) => m?.[c.key]))
    if (sc.baseline !== undefined) s.ratio = spread(rows.map((m) => m?.ratio))
    if (sc.baseline !== undefined) s.p99Ratio = spread(rows.map((m) => m?.p99Ratio))
    if (sc.peers !== undefined) s.peerRatio = Object.fromEntries(sc.peers.map((id) => [id, spread(rows.map((m) => m?.peerRatios?.[id]))]))
    s.statusCodes = rows.map((m) => m?.statusCodes ?? null)
    summary[sc.id] = s

    const head = ['round', ...suite.columns.map((c) => c.head)]
    if (sc.baseline !== undefined) head.push(`÷ ${sc.baseline}`)
    head.push('non-2xx', 'errors')
    const body = rows.map((m, i) => {
      const row = [String(i + 1), ...suite.columns.map((c) => c.fmt(m?.[c.key]))]
      if (sc.baseline !== undefined) row.push(fmtPct(m?.ratio))
      row.push(String(m?.non2xx ?? '–'), String(m?.errors ?? '–'))
      return row
    })
    const med = ['median', ...suite.columns.map((c) => c.fmt(s[c.key].median))]
    if (sc.baseline !== undefined) med.push(fmtPct(s.ratio.median))
    med.push('', '')
    body.push(med)
    log(`\n${sc.label}`)
    log(table(head, body))
    if (sc.baseline !== undefined) {
      log(`ratio to ${sc.baseline}: median ${fmtPct(s.ratio.median)} [${fmtPct(s.ratio.min)}..${fmtPct(s.ratio.max)}]`)
    }
    for (const [id, r] of Object.entries(s.peerRatio ?? {})) {
      log(`ratio to ${id} (same round): median ${fmtNum(r.median)}× [${fmtNum(r.min)}..${fmtNum(r.max)}], per round ${rows.map((m) => fmtNum(m?.peerRatios?.[id])).join(', ')}`)
    }
    if (problems.length > 0) log(`!! ERRORS: ${problems.join('; ')}`)
  }

  // Overview across scenarios.
  log(`\n=== ${suite.title}: medians over ${config.rounds} rounds ===`)
  log(table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio median [min..max]', 'errors'],
    suite.scenarios.map((sc) => {
      const s = summary[sc.id]
      return [
        sc.label,
        suite.columns[0].fmt(s.reqPerSec.median),
        fmtNum(s.p50.median, 0),
        fmtNum(s.p99.median, 0),
        s.ratio ? `${fmtPct(s.ratio.median)} [${fmtPct(s.ratio.min)}..${fmtPct(s.ratio.max)}] of ${s.baseline}` : 'ceiling',
        s.problemCount > 0 ? 'YES' : 'none'
      ]
    })
  ))

  // Other load on the machine skews a 2-core benchmark; say where it was seen (> 0.2 cores besides server and driver).
  const busy = suite.scenarios.flatMap((sc) => perRound.map((r, i) => [sc, i + 1, r.results[sc.id]?.otherCpu]))
    .filter(([, , o]) => typeof o === 'number' && o > 0.2)
  if (busy.length > 0) {
    log(`\n!! other processes used CPU during ${busy.length} measurements (cores): ` +
      busy.map(([sc, round, o]) => `${sc.id} r${round} ${fmtNum(o)}`).join(', '))
  }
  report.suites[suite.id] = { busy: busy.map(([sc, round, o]) => ({ scenario: sc.id, round, otherCpu: o })) }

  const goals = suite.goals(summary)
  log('\n=== goals (judged on the median same-round ratio; a scenario with errors cannot pass) ===')
  for (const g of goals) {
    const pass = g.checks.every((c) => c.pass)
    log(`${pass ? 'PASS' : 'FAIL'}  ${g.goal}`)
    for (const c of g.checks) {
      const what = c.atMost
        ? `${c.what ?? 'p99 ms'} ${fmtNum(c.median, 2)} [${fmtNum(c.min, 2)}..${fmtNum(c.max, 2)}], target ≤ ${c.target}`
        : c.versus !== undefined
          ? `${fmtNum(c.median)}× ${c.versus} [${fmtNum(c.min)}..${fmtNum(c.max)}], target ≥ ${c.target}×`
          : `${fmtPct(c.median)} [${fmtPct(c.min)}..${fmtPct(c.max)}], target ≥ ${fmtPct(c.target)}`
      log(`      ${c.pass ? 'pass' : 'FAIL'}  ${summary[c.scenario].label}: ${what}${c.clean ? '' : ' (had errors)'}`)
    }
    g.pass = pass
  }
  const notes = [...new Set(perRound.flatMap((r) => r.notes ?? []))]
  if (notes.length > 0) {
    log('\nnotes (not errors):')
    for (const n of notes) log(`   ${n}`)
  }
  if (roundProblems.length > 0) {
    log('\n!! problems outside the measured runs:')
    for (const p of roundProblems) log(`   ${p}`)
  }

  report.suites[suite.id] = {
    ...report.suites[suite.id],
    title: suite.title,
    summary,
    goals,
    problems: roundProblems,
    notes,
    rounds: perRound.map((r, i) => ({ round: i + 1, info: r.info, results: r.results, problems: r.problems, notes: r.notes }))
  }
}

// Start-up suites: their own rounds and tables (they time process starts, not request rates).
if (chosen.has('startup')) report.suites.startup = await startup.run(log)
if (chosen.has('orphans')) {
  log(`\n=== ${orphans.title} ===`)
  await orphans.main()
}
if (chosen.has('history')) report.suites.history = await history.run(log)
if (chosen.has('reads')) report.suites.reads = await reads.run(log)

// --- one table: every goal judged above ------------------------------------------------------
const goalRows = []
for (const g of report.suites.http?.goals ?? []) {
  for (const c of g.checks) {
    const what = c.what ?? (c.atMost ? 'p99 ms' : c.versus !== undefined ? `× ${c.versus}` : `÷ ${report.suites.http.summary[c.scenario].baseline}`)
    const fmt = c.atMost ? (x) => fmtNum(x, 2) : c.versus !== undefined ? (x) => fmtNum(x) + '×' : fmtPct
    goalRows.push([`${c.scenario} ${what}`, `${fmt(c.median)} [${fmt(c.min)}..${fmt(c.max)}]`, `${c.atMost ? '≤' : '≥'} ${c.atMost ? c.target : fmt(c.target)}`, c.pass ? 'PASS' : c.clean ? 'FAIL' : 'FAIL (errors)'])
  }
}
for (const g of report.suites.startup?.goals ?? []) {
  for (const c of g.checks) {
    const fmt = (x) => c.unit === '×' ? fmtNum(x) + '×' : fmtNum(x, 0) + c.unit
    goalRows.push([`start-up ${c.what}`, `${fmt(c.median)} [${fmt(c.min)}..${fmt(c.max)}]`, `≤ ${fmt(c.target)}`, c.pass ? 'PASS' : 'FAIL'])
  }
}
if (goalRows.length > 0) {
  log('\n=== every goal, one table (median of same-round ratios [min..max] over the rounds) ===')
  log(table(['goal', 'measured', 'target', 'verdict'], goalRows))
}

report.finished = new Date().toISOString()
report.clean = !anyProblem
const outDir = fileURLToPath(new URL('./results/', import.meta.url))
mkdirSync(outDir, { recursive: true })
writeFileSync(outDir + 'latest.json', JSON.stringify(report, null, 2) + '\n')
log(`\n${anyProblem ? '!! the benchmark saw errors (see above); its figures are not clean' : 'every request of every scenario answered 2xx, no errors'}`)
log(`summary written to bench/results/latest.json (${((Date.parse(report.finished) - started.getTime()) / 1000).toFixed(0)} s)`)
process.exitCode = anyProblem || process.exitCode === 1 ? 1 : 0
