/**
 * `agent-state run`: wraps an agent's command so it reports like a good agent. It starts the command in a
 * process group of its own, reports `running` with the child's PID and start time, heartbeats well within the
 * lease, forwards SIGINT, SIGTERM and SIGHUP to the whole group, reports the outcome with the time the command
 * ended, riding through restarts of the service, and leaves nothing of the group running; a run the service
 * reaped or superseded is stopped, since its slot was given to someone else.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { constants, hostname } from 'node:os'
import { problemLine, type Workspace, type WorkspaceReport } from '../client/index.js'
import { MAX_CLAIM_WAIT_S } from '../shared/claims.js'
import { processStartMs } from '../shared/process-start.js'
import { attempt, REQUEST_TIMEOUT_MS } from './attempt.js'
import { backoffMs, pause } from './backoff.js'
import { EXIT, ProblemError, UnreachableError, UsageError, connect, parse, type Connection } from './common.js'
import type { Command } from './operator.js'
import { ProcessGroup } from './process-group.js'

const NAME = /^([A-Za-z0-9][A-Za-z0-9._-]{0,99})\/([A-Za-z0-9][A-Za-z0-9._-]{0,99})\/([A-Za-z0-9][A-Za-z0-9._-]{0,99})$/
/** Without a lease (LEASE_S=0) a heartbeat still says the agent is there, now and then. */
const NO_LEASE_HEARTBEAT_MS = 60_000
/** Heartbeat three times per lease, so two can be lost without the run being reaped. */
const HEARTBEATS_PER_LEASE = 3
// Answers that mean this run no longer owns the workspace: finished, reaped, superseded by a higher `runs`, or deleted.
const LOST = new Set(['not_running', 'stale_run', 'not_found'])
// Until the first heartbeat tells the lease, retries wait at most this long: a restarted service hears from us soon.
const FIRST_RETRY_CAP_MS = 2000
// After the running report, heartbeats come at once, then after 1 s, 2 s, 4 s, … until the lease's interval: a
// runner that started at the same moment and superseded this run is noticed within seconds.
const FIRST_BEAT_MS = 1000
// Passed on to the command's whole group; SIGHUP too, since the command has no terminal of its own to hang up.
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
// The longest single claim wait the service accepts.

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
  /** Set once the command is started: its process group. */
  #group: ProcessGroup | null = null
  #lost = false
  /** The service refused this run (its start or its outcome), or took it back: the runner does not exit 0. */
  #refused = false
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
    // `detached`: the command leads a process group (and session) of its own, which the runner signals as a whole.
    this.#child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, ...env }, detached: true })
  }

  /** Runs the command to its end and returns the exit status to leave with. */
  async run (): Promise<number> {
    const child = this.#child
    const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, error?: Error }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }))
      child.once('error', (error) => resolve({ code: 127, signal: null, error }))
    })
    const forward = (signal: NodeJS.Signals): void => { this.#group?.signal(signal) }
    for (const signal of FORWARDED) process.on(signal, forward)
    if (child.pid !== undefined) {
      this.#group = new ProcessGroup(child.pid)
      const started = processStartMs(child.pid)
      this.#pid = { pid: child.pid, host: hostname(), ...(started === null ? {} : { pid_started_at: new Date(started).toISOString() }) }
    }
    // A command that could not start never ran: only its failure is reported.
    const reporting = child.pid === undefined ? Promise.resolve() : this.#reportRunningThenHeartbeat()
    const end = await exited
    const endedAt = new Date().toISOString()
    this.#done.abort()
    // What the command left running in its group is ended while the outcome is reported.
    const cleanup = this.#endGroup()
    await reporting
    for (const signal of FORWARDED) process.off(signal, forward)
    if (end.error !== undefined) say(`cannot start ${this.#o.command[0] as string}: ${end.error.message}`)
    const status = exitStatus(end.code, end.signal)
    if (!this.#lost) await this.#reportOutcome(end.code === 0 ? 'completed' : 'failed', end.code, end.signal, endedAt)
    await cleanup
    return status === 0 && this.#refused ? EXIT.problem : status
  }

  /** Once the command has exited: stops whatever it left running in its group, SIGKILL after `--kill-after`. */
  async #endGroup (): Promise<void> {
    const group = this.#group
    const left = group?.running() ?? 0
    if (group === null || left === 0) return
    const plural = (n: number): string => `${n} process${n === 1 ? '' : 'es'}`
    say(`the command left ${plural(left)} running in its group; stopping them`)
    const stillRunning = await group.end(this.#o.killAfterMs)
    if (stillRunning > 0) say(`${plural(stillRunning)} of the group survived SIGKILL (process group ${group.id})`)
  }

  async #reportRunningThenHeartbeat (): Promise<void> {
    const refused = await this.#report('running', { ...this.#pid }, this.#done.signal)
    if (refused !== null) return this.#stop(`the service refused the run: ${refused}`)
    if (this.#done.signal.aborted) return
    await this.#heartbeats()
  }

  /**
   * Delivers one report, retrying transient failures until `until` aborts. Without a run number yet, reads the
   * record and reports the next run, guarded by its ETag (`If-None-Match: *` for a new workspace) so two
   * runners never take the same number; when the guard fails because another run started in between, that
   * run keeps the workspace and this one is refused. Returns null once delivered (or when `until` ended the
   * tries), else the refusal.
   */
  async #report (status: WorkspaceReport['status'], extra: Partial<WorkspaceReport>, until: AbortSignal): Promise<string | null> {
    const { client } = this.#o.conn
    const path = { params: { path: this.#path } }
    // The runs of the record our last read found (-1: none); whether a report was sent (its answer may have been
    // lost), and whether our guarded report was refused since that read.
    let seenRuns = -1
    let sent = false
    let raced = false
    for (let tries = 0; !until.aborted; tries++) {
      if (tries > 0) await pause(backoffMs(tries - 1, this.#beatMs), until)
      if (until.aborted) break
      let guard: Record<string, string> = {}
      let runs = this.#runs
      if (runs === null) {
        const got = await attempt(client.GET('/v1/workspaces/{org}/{repo}/{leaf}', { ...path, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }))
        if (got.kind === 'transient') { say(`cannot read ${this.#name} yet (${got.reason}); retrying`); continue }
        if (got.kind === 'refused' && got.problem.code !== 'not_found') return problemLine(got.problem)
        const stored = got.kind === 'ok' ? got.data : undefined
        // An earlier try that timed out may have been stored after all.
        if (sent && stored !== undefined && this.#isOurs(stored, status)) { this.#runs = stored.runs; return null }
        if (raced && stored?.status === 'running' && stored.runs > seenRuns) {
          return `another runner started ${this.#name} first (run ${stored.runs} on ${stored.host ?? "the service's host"}, pid ${stored.pid ?? 'unknown'})`
        }
        raced = false
        seenRuns = stored?.runs ?? -1
        this.#base = { ...carried(stored), ...this.#base }
        const etag = got.kind === 'ok' ? got.response.headers.get('etag') ?? undefined : undefined
        guard = stored === undefined ? { 'if-none-match': '*' } : etag === undefined ? {} : { 'if-match': etag }
        runs = (stored?.runs ?? 0) + 1
      }
      // A `running` report for a command that has ended would name a dead PID for the reaper to find.
      if (until.aborted) break
      const body = { ...this.#base, ...extra, status, agent: this.#agent, runs } as WorkspaceReport
      sent = true
      const put = await attempt(client.PUT('/v1/workspaces/{org}/{repo}/{leaf}', {
        ...path, body, headers: guard, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
      }))
      if (put.kind === 'ok') { this.#runs = runs; return null }
      if (put.kind === 'transient') { say(`cannot report ${status} for ${this.#name} yet (${put.reason}); retrying`); continue }
      // Someone else reported in between: read again, and take the next number unless they started a run.
      if (put.problem.code === 'precondition_failed' && this.#runs === null) { raced = true; tries = -1; continue }
      return problemLine(put.problem)
    }
    return null
  }

  /** Whether `stored` is this runner's own report (its process, on this host), delivered by a try whose answer was lost. */
  #isOurs (stored: Workspace, status: WorkspaceReport['status']): boolean {
    const { pid, pid_started_at: startedAt, host } = this.#pid
    return pid !== undefined && stored.status === status && stored.agent === this.#agent && stored.pid === pid &&
      stored.pid_started_at === startedAt && stored.host === host
  }

  async #heartbeats (): Promise<void> {
    const { client } = this.#o.conn
    const signal = this.#done.signal
    let failures = 0
    let ramp = FIRST_BEAT_MS
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
      const wait = beat.kind === 'ok' ? Math.min(ramp, this.#beatMs) : backoffMs(failures++, this.#beatMs)
      if (beat.kind === 'ok') ramp *= 2
      await pause(wait, signal)
    }
  }

  /**
   * The run lost its slot: stop the command's group (SIGTERM, then SIGKILL after a grace; whatever outlives the
   * command is ended with the rest of its group) unless told to keep it.
   */
  #stop (why: string): void {
    this.#lost = true
    if (this.#o.keepOnReap) { say(`${why}; --keep-on-reap: the command keeps running, unreported`); return }
    this.#refused = true
    say(`${why}; stopping the command`)
    this.#group?.signal('SIGTERM')
    const kill = setTimeout(() => this.#group?.signal('SIGKILL'), this.#o.killAfterMs)
    kill.unref()
    this.#child.once('exit', () => clearTimeout(kill))
  }

  async #reportOutcome (status: 'completed' | 'failed', code: number | null, signal: NodeJS.Signals | null, endedAt: string): Promise<void> {
    const how = code !== null ? `exit code ${code}` : `signal ${String(signal)}`
    const extra: Partial<WorkspaceReport> = {
      ...this.#pid,
      note: how,
      ...(status === 'failed' ? { question: `the command ended with ${how}` } : {}),
      // A command that never started has no run to end.
      ...(this.#pid.pid === undefined ? {} : { ended_at: endedAt })
    }
    const until = AbortSignal.timeout(this.#o.reportWaitMs)
    const refused = await this.#report(status, extra, until)
    if (refused !== null) {
      this.#refused = true
      say(`the service refused the ${status} report, so the run's outcome is not recorded: ${refused}`)
    } else if (until.aborted) {
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
