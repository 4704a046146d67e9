/**
 * Ghost reaping (API §8.2): a `running` workspace whose local process is gone or was replaced, or that
 * has not reported within its lease, becomes `failed` with the evidence.
 */
import type { DomainError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import type { Workspace } from '../workspaces/model.js'
import { checkPid } from './liveness.js'
import type { ReapedGhost } from '../startup/report.js'
import type { Workspaces } from '../workspaces/workspaces.js'
import type { Writer } from '../core/writer.js'

export interface ReaperOptions {
  /** This host's name: a workspace on this host is local, so its PID can be checked. */
  hostname: string
  /**
   * `local`: a workspace without `host` is taken to share this PID namespace; `host`: only one naming this host
   * is (a service in a container sees other PIDs than its agents); `off`: leases only.
   */
  pidCheck: 'local' | 'host' | 'off'
  /** Seconds without a report or heartbeat before a running workspace is a ghost; 0 disables the lease. */
  leaseS: number
}

type Verdict = Pick<ReapedGhost, 'reason' | 'evidence'>

export class Reaper {
  readonly #workspaces: Workspaces
  readonly #writer: Writer
  readonly #clock: () => Date
  readonly #opts: ReaperOptions
  readonly #log: Logger
  // The lease clock starts when this service accepts requests again (startLeaseClock): agents cannot
  // heartbeat a service that is down or still starting, so neither a restart nor a slow start-up fails a
  // healthy agent. Until then no lease expires.
  #startedAt = Number.POSITIVE_INFINITY
  #running: Promise<ReapedGhost[]> | null = null

  constructor (deps: { workspaces: Workspaces, writer: Writer, clock: () => Date, log: Logger }, opts: ReaperOptions) {
    this.#workspaces = deps.workspaces
    this.#writer = deps.writer
    this.#clock = deps.clock
    this.#log = deps.log
    this.#opts = opts
  }

  /** Starts (or restarts) the lease clock: called once the service can take heartbeats. */
  startLeaseClock (): void {
    this.#startedAt = this.#clock().getTime()
  }

  get leaseS (): number { return this.#opts.leaseS }

  #isLocal (r: Workspace): boolean {
    if (r.host === undefined) return this.#opts.pidCheck === 'local'
    return r.host === this.#opts.hostname && this.#opts.pidCheck !== 'off'
  }

  /** Why `r` is a ghost at `now`, or null while it is alive. */
  judge (r: Workspace, now: number): Verdict | null {
    if (r.status !== 'running') return null
    if (this.#isLocal(r) && r.pid !== undefined && r.pid > 0) {
      const pid = checkPid(r.pid, r.pid_started_at)
      // Only the verdict: the record's `reaped` carries exactly {reason, evidence, at}.
      if (!pid.alive) return { reason: pid.reason, evidence: pid.evidence }
    }
    if (this.#opts.leaseS > 0) {
      const seen = Math.max(Date.parse(r.heartbeat_at ?? r.updated_at), Date.parse(r.updated_at), this.#startedAt)
      const silentS = Math.floor((now - seen) / 1000)
      if (silentS >= this.#opts.leaseS) {
        return { reason: 'lease_expired', evidence: `no report or heartbeat for ${silentS}s (lease ${this.#opts.leaseS}s), last at ${new Date(seen).toISOString()}` }
      }
    }
    return null
  }

  /** One pass over the running workspaces; passes never overlap. Returns the ghosts it failed. */
  run (): Promise<ReapedGhost[]> {
    this.#running ??= this.#pass().finally(() => { this.#running = null })
    return this.#running
  }

  async #pass (): Promise<ReapedGhost[]> {
    const now = this.#clock()
    const at = now.toISOString()
    // Before the lease clock starts, this is the start-up pass: what it finds ended while the service was down.
    const startup = this.#startedAt === Number.POSITIVE_INFINITY ? { at_startup: true as const } : {}
    const ghosts: ReapedGhost[] = []
    // One change per ghost: should the store refuse one, the others are still stored.
    const commits: Array<Promise<unknown>> = []
    for (const record of this.#workspaces.running()) {
      const verdict = this.judge(record, now.getTime())
      if (verdict === null) continue
      this.#workspaces.put({
        ...record,
        status: 'failed',
        question: `agent reaped (${verdict.reason}): ${verdict.evidence}`,
        reaped: { ...verdict, at },
        updated_at: at,
        heartbeat_at: undefined
      }, { action: 'reaped', reason: verdict.reason, ...startup })
      ghosts.push({ name: record.name, ...verdict, at })
      commits.push(this.#writer.commit(`reaper: workspace ${record.name}`))
    }
    if (ghosts.length === 0) return ghosts
    const outcomes = await Promise.allSettled(commits)
    // A store that cannot write fails the pass (the verdicts are held for it); a refused ghost was logged by the writer.
    const failure = outcomes.find((o) => o.status === 'rejected' && (o.reason as DomainError).code !== 'write_refused')
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason
    const stored = ghosts.filter((_, i) => outcomes[i]?.status === 'fulfilled')
    await Promise.all(stored.map((g) => this.#workspaces.syncFile(g.name)))
    for (const g of stored) this.#log.warn({ workspace: g.name, reason: g.reason, evidence: g.evidence }, 'reaped a ghost workspace')
    return stored
  }
}
