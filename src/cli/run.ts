/**
 * `agent-state run`: wraps an agent's command so it reports like a good agent. It starts the command, reports
 * `running` with the child's PID and start time, heartbeats well within the lease, forwards SIGINT and SIGTERM,
 * and reports the outcome, riding through restarts of the service; a run the service reaped or superseded is
 * stopped, since its slot was given to someone else.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { constants, hostname } from 'node:os'
import { problemLine, type Workspace, type WorkspaceReport } from '../client/index.js'
import { processStartMs } from '../shared/process-start.js'
import { attempt, REQUEST_TIMEOUT_MS } from './attempt.js'
import { backoffMs, pause } from './backoff.js'
import { EXIT, ProblemError, UnreachableError, UsageError, connect, parse, type Connection } from './common.js'
import type { Command } from './operator.js'

const NAME = /^([A-Za-z0-9][A-Za-z0-9._-]{0,99})\/([A-Za-z0-9][A-Za-z0-9._-]{0,99})\/([A-Za-z0-9][A-Za-z0-9._-]{0,99})$/
/** Without a lease (LEASE_S=0) a heartbeat still says the agent is there, now and then. */
const NO_LEASE_HEARTBEAT_MS = 60_000
/** Heartbeat three times per lease, so two can be lost without the run being reaped. */
const HEARTBEATS_PER_LEASE = 3
// Answers that mean this run no longer owns the workspace: finished, reaped, superseded by a higher `runs`, or deleted.
const LOST = new Set(['not_running', 'stale_run', 'not_found'])
// Until the first heartbeat tells the lease, retries wait at most this long: a restarted service hears from us soon.
const FIRST_RETRY_CAP_MS = 2000
// The longest single claim wait the service accepts.
const MAX_CLAIM_WAIT_S = 60

const say = (message: string): void => { process.stderr.write(`agent-state: ${message}\n`) }

type Path = { org: string, repo: string, leaf: string }

interface RunOptions {
  conn: Connection
  command: string[]
  keepOnReap: boolean
  reportWaitMs: number
  killAfterMs: number
}

/** The fields a report carries over from the stored record, so wrapping an agent does not erase them. */
function carried (w: Workspace | undefined): Partial<WorkspaceReport> {
  if (w === undefined) return {}
  const { task, branch, issue, priority, pr_url: prUrl, runtime, process_id: processId } = w
  return { task, branch, issue, priority, pr_url: prUrl, runtime, process_id: processId }
}

function exitStatus (code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code
  return 128 + (signal === null ? 0 : constants.signals[signal] ?? 0)
}

class Run {
  readonly #o: RunOptions
  readonly #path: Path
  readonly #name: string
  #agent: string
  #base: Partial<WorkspaceReport>
  /** This run's number once the service has it; the fence every later report and heartbeat carries. */
  #runs: number | null
  readonly #child: ChildProcess
  #pid: { pid?: number, pid_started_at?: string, host: string } = { host: hostname() }
  #lost = false
  /** Time between heartbeats, learned from the lease; also the longest wait between retries of a report. */
  #beatMs = FIRST_RETRY_CAP_MS
  readonly #done = new AbortController()

  constructor (o: RunOptions, name: string, agent: string, base: Partial<WorkspaceReport>, runs: number | null, env: Record<string, string>) {
    this.#o = o
    this.#name = name
    const m = NAME.exec(name) as RegExpExecArray
    this.#path = { org: m[1] as string, repo: m[2] as string, leaf: m[3] as string }
    this.#agent = agent
    this.#base = base
    this.#runs = runs
    const [file, ...args] = o.command as [string, ...string[]]
    this.#child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  }

  /** Runs the command to its end and returns the exit status to leave with. */
  async run (): Promise<number> {
    const child = this.#child
    const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, error?: Error }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }))
      child.once('error', (error) => resolve({ code: 127, signal: null, error }))
    })
    const forward = (signal: NodeJS.Signals): void => { child.kill(signal) }
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    if (child.pid !== undefined) {
      const started = processStartMs(child.pid)
      this.#pid = { pid: child.pid, host: hostname(), ...(started === null ? {} : { pid_started_at: new Date(started).toISOString() }) }
    }
    // A command that could not start never ran: only its failure is reported.
    const reporting = child.pid === undefined ? Promise.resolve() : this.#reportRunningThenHeartbeat()
    const end = await exited
    this.#done.abort()
    await reporting
    process.off('SIGINT', forward)
    process.off('SIGTERM', forward)
    if (end.error !== undefined) say(`cannot start ${this.#o.command[0] as string}: ${end.error.message}`)
    const status = exitStatus(end.code, end.signal)
    if (!this.#lost) await this.#reportOutcome(end.code === 0 ? 'completed' : 'failed', end.code, end.signal)
    return status
  }

  async #reportRunningThenHeartbeat (): Promise<void> {
    const refused = await this.#report('running', { ...this.#pid }, this.#done.signal)
    if (refused !== null) return this.#stop(`the service refused the run: ${refused}`)
    if (this.#done.signal.aborted) return
    await this.#heartbeats()
  }

  /**
   * Delivers one report, retrying transient failures until `until` aborts. Without a run number yet, reads the
   * record and reports the next run, guarded by its ETag so two runners never take the same number.
   * Returns null once delivered (or when `until` ended the tries), else the refusal.
   */
  async #report (status: WorkspaceReport['status'], extra: Partial<WorkspaceReport>, until: AbortSignal): Promise<string | null> {
    const { client } = this.#o.conn
    const path = { params: { path: this.#path } }
    for (let tries = 0; !until.aborted; tries++) {
      if (tries > 0) await pause(backoffMs(tries - 1, this.#beatMs), until)
      if (until.aborted) break
      let etag: string | undefined
      let runs = this.#runs
      if (runs === null) {
        const got = await attempt(client.GET('/v1/workspaces/{org}/{repo}/{leaf}', { ...path, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }))
        if (got.kind === 'transient') { say(`cannot read ${this.#name} yet (${got.reason}); retrying`); continue }
        if (got.kind === 'refused' && got.problem.code !== 'not_found') return problemLine(got.problem)
        const stored = got.kind === 'ok' ? got.data : undefined
        this.#base = { ...carried(stored), ...this.#base }
        etag = got.kind === 'ok' ? got.response.headers.get('etag') ?? undefined : undefined
        runs = (stored?.runs ?? 0) + 1
      }
      // A `running` report for a command that has ended would name a dead PID for the reaper to find.
      if (until.aborted) break
      const body = { ...this.#base, ...extra, status, agent: this.#agent, runs } as WorkspaceReport
      const put = await attempt(client.PUT('/v1/workspaces/{org}/{repo}/{leaf}', {
        ...path, body, headers: etag === undefined ? {} : { 'if-match': etag }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
      }))
      if (put.kind === 'ok') { this.#runs = runs; return null }
      if (put.kind === 'transient') { say(`cannot report ${status} for ${this.#name} yet (${put.reason}); retrying`); continue }
      // Someone else reported in between: read again and take the next number after theirs.
      if (put.problem.code === 'precondition_failed' && this.#runs === null) { tries = -1; continue }
      return problemLine(put.problem)
    }
    return null
  }

  async #heartbeats (): Promise<void> {
    const { client } = this.#o.conn
    const signal = this.#done.signal
    let failures = 0
    while (!signal.aborted) {
      const beat = await attempt(client.POST('/v1/workspaces/{org}/{repo}/{leaf}/heartbeat', {
        params: { path: this.#path }, body: { runs: this.#runs as number }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
      }))
      if (signal.aborted) return
      if (beat.kind === 'ok') {
        failures = 0
        const { heartbeat_at: at, lease_expires_at: expires } = beat.data
        this.#beatMs = expires === null ? NO_LEASE_HEARTBEAT_MS : (Date.parse(expires) - Date.parse(at)) / HEARTBEATS_PER_LEASE
      } else if (beat.kind === 'refused') {
        if (LOST.has(beat.problem.code)) return this.#stop(`this run is over on the service (${problemLine(beat.problem)})`)
        say(`heartbeat refused (${problemLine(beat.problem)}); retrying`)
      } else {
        say(`heartbeat failed (${beat.reason}); retrying`)
      }
      // After a failure, retry sooner than the next regular beat, never later.
      const wait = beat.kind === 'ok' ? this.#beatMs : backoffMs(failures++, this.#beatMs)
      await pause(wait, signal)
    }
  }

  /** The run lost its slot: stop the child (SIGTERM, then SIGKILL after a grace) unless told to keep it. */
  #stop (why: string): void {
    this.#lost = true
    if (this.#o.keepOnReap) { say(`${why}; --keep-on-reap: the command keeps running, unreported`); return }
    say(`${why}; stopping the command`)
    this.#child.kill('SIGTERM')
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), this.#o.killAfterMs)
    kill.unref()
    this.#child.once('exit', () => clearTimeout(kill))
  }

  async #reportOutcome (status: 'completed' | 'failed', code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const how = code !== null ? `exit code ${code}` : `signal ${String(signal)}`
    const extra: Partial<WorkspaceReport> = {
      ...this.#pid,
      note: how,
      ...(status === 'failed' ? { question: `the command ended with ${how}` } : {})
    }
    const until = AbortSignal.timeout(this.#o.reportWaitMs)
    const refused = await this.#report(status, extra, until)
    if (refused !== null) say(`the service refused the ${status} report: ${refused}`)
    else if (until.aborted) {
      say(`gave up reporting ${status} for ${this.#name} after ${this.#o.reportWaitMs / 1000} s; ` +
        'the service will fail the run once its lease expires')
    }
  }
}

/** Takes the next admissible workspace, waiting up to `waitS` in long polls of at most a minute. */
async function claim (conn: Connection, pool: string | undefined, waitS: number): Promise<Workspace | null> {
  const deadline = Date.now() + waitS * 1000
  for (let tries = 0; ; tries++) {
    const waitS = Math.min(MAX_CLAIM_WAIT_S, Math.max(0, Math.ceil((deadline - Date.now()) / 1000)))
    const body = { host: hostname(), ...(pool === undefined ? {} : { pool }), ...(waitS > 0 ? { wait_s: waitS } : {}) }
    const got = await attempt(conn.client.POST('/v1/queue/claim', { body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS + waitS * 1000) }))
    if (got.kind === 'ok' && got.response.status === 200) return got.data as Workspace
    if (got.kind === 'refused') throw new ProblemError(got.problem)
    if (Date.now() >= deadline) {
      if (got.kind === 'transient') throw new UnreachableError(`cannot claim from ${conn.url}: ${got.reason}`)
      return null
    }
    if (got.kind === 'transient') await pause(Math.min(backoffMs(tries), Math.max(0, deadline - Date.now())))
  }
}

export const run: Command = {
  summary: 'run a command as an agent: report running, heartbeat, report the outcome',
  usage: `agent-state run <org/repo/leaf> --agent <base[:model]> [--task <text>] [options] -- <command…>
agent-state run --claim [--pool <pool>] [--wait <s>] [options] -- <command…>

  --agent <a>         the agent string, e.g. codex:gpt-5.4 (with --claim: the queued record's)
  --task <text>       task text (default: the stored record's)
  --claim             take the next admissible queued workspace instead of naming one; the command gets
                      AGENT_STATE_WORKSPACE, AGENT_STATE_TASK, AGENT_STATE_AGENT and AGENT_STATE_RUNS
  --pool <pool>       with --claim: only from this pool
  --wait <s>          with --claim: wait this long for admissible work (default 0); nothing: exit 4
  --keep-on-reap      when the service says the run is over (reaped, superseded, deleted), keep the
                      command running instead of stopping it
  --report-wait <s>   how long to keep retrying the final report after the command ends (default 300);
                      past it the run stays "running" until the service's lease fails it
  --kill-after <s>    after stopping a reaped run with SIGTERM, SIGKILL it this much later (default 10)

The command starts at once, even while the service is unreachable; reports and heartbeats are retried with
backoff and jitter. SIGINT and SIGTERM are passed to the command. agent-state run exits with the command's
status (128 + n for signal n).`,
  async run (args) {
    const split = args.indexOf('--')
    const command = split === -1 ? [] : args.slice(split + 1)
    const { values, positionals } = parse(split === -1 ? args : args.slice(0, split), {
      agent: { type: 'string' },
      task: { type: 'string' },
      claim: { type: 'boolean' },
      pool: { type: 'string' },
      wait: { type: 'string' },
      'keep-on-reap': { type: 'boolean' },
      'report-wait': { type: 'string' },
      'kill-after': { type: 'string' }
    })
    if (command.length === 0) throw new UsageError('no command: put it after --')
    const seconds = (flag: string, raw: string | undefined, fallback: number): number => {
      const n = raw === undefined ? fallback : Number(raw)
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} takes a number of seconds`)
      return n
    }
    const conn = connect(values)
    const o: RunOptions = {
      conn,
      command,
      keepOnReap: values['keep-on-reap'] === true,
      reportWaitMs: seconds('report-wait', values['report-wait'], 300) * 1000,
      killAfterMs: seconds('kill-after', values['kill-after'], 10) * 1000
    }
    if (values.claim === true) {
      if (positionals.length > 0) throw new UsageError('--claim takes no workspace name')
      const claimed = await claim(conn, values.pool, seconds('wait', values.wait, 0))
      if (claimed === null) { say('nothing admissible to claim'); return EXIT.nothing_to_claim }
      say(`claimed ${claimed.name} (run ${claimed.runs})`)
      const env = { AGENT_STATE_WORKSPACE: claimed.name, AGENT_STATE_TASK: claimed.task, AGENT_STATE_AGENT: claimed.agent, AGENT_STATE_RUNS: String(claimed.runs) }
      return await new Run(o, claimed.name, values.agent ?? claimed.agent, carried(claimed), claimed.runs, env).run()
    }
    const name = positionals[0]
    if (positionals.length !== 1 || name === undefined) throw new UsageError('expected one workspace name org/repo/leaf, or --claim')
    if (!NAME.test(name)) throw new UsageError(`not a workspace name (org/repo/leaf): ${JSON.stringify(name)}`)
    if (values.agent === undefined) throw new UsageError('--agent is required (e.g. --agent codex:gpt-5.4)')
    const base = values.task === undefined ? {} : { task: values.task }
    const env: Record<string, string> = { AGENT_STATE_WORKSPACE: name, AGENT_STATE_AGENT: values.agent, ...(values.task === undefined ? {} : { AGENT_STATE_TASK: values.task }) }
    return await new Run(o, name, values.agent, base, null, env).run()
  }
}
