/**
 * Pools (API §5): limits from the configuration, backoff and fail counts, the daily budget, and the
 * admission rule with its reasons. Runtime state is staged with the change that caused it, so it is
 * durable in the same commit.
 */
import type { Workspace } from '../workspaces/model.js'
import type { EndSource, RunEnd } from '../workspaces/run-ends.js'
import { DEFAULT_RESET_UTC, toSettings, type AgentsConfig, type PoolLimit, type Settings } from './agents-config.js'
import { BudgetDays } from './daily.js'
import type { ConfigState, PoolView, Reason } from './model.js'
import type { EventLog } from '../events/events.js'
import type { Entry } from '../core/rows.js'
import type { Workspaces } from '../workspaces/workspaces.js'
import type { CommitResult, Writer } from '../core/writer.js'

export const RUNTIME_GROUP = 'runtime'
export const DAILY_GROUP = 'daily'
export const CONFIG_GROUP = 'config'
/** The groups Pools.hydrate reads. */
export const POOL_GROUPS = [RUNTIME_GROUP, DAILY_GROUP, CONFIG_GROUP]

export interface Backoff {
  until: string
  reason: string
  /** Who set it: `auto`, or the caller's token fingerprint. */
  by: string
}

const FINISHED = new Set(['completed', 'merged', 'ready-for-review', 'blocked', 'rejected'])

/**
 * A pool's fast failures in a row, oldest first: null for one an agent reported, `workspace#runs` for a
 * reap, which that run's own outcome may still overrule (API §5).
 */
type Row = Array<string | null>

/** The row that fired a pool's automatic backoff; `continued` while nothing has broken the row since. */
interface FiredRow { row: Row, continued: boolean }

/** How the rows are stored, next to the Go agent's `fail_count` (which old stores have alone). */
type StoredRows = Record<string, { row: Row, fired?: FiredRow }>

const UNLIMITED: PoolLimit = { total: null, models: {} }
const modelOf = (agent: string): string | undefined => agent.includes(':') ? agent.slice(agent.indexOf(':') + 1) : undefined

export class Pools {
  #settings: Settings = toSettings({})
  readonly config: ConfigState = { origin: 'default', applied_at: null, error: null }
  readonly #backoff = new Map<string, Backoff>()
  readonly #rows = new Map<string, Row>()
  readonly #fired = new Map<string, FiredRow>()
  readonly #daily = new Map<string, { since: string, started: number }>()
  readonly #days = new BudgetDays()
  // Grows with every change of the configuration, backoffs, failure rows and daily counts; with the
  // workspaces' version and the clock it says whether the cached views still hold.
  #version = 0
  #views: { pools: number, workspaces: number, from: number, until: number, views: PoolView[] } | null = null
  readonly #workspaces: Workspaces
  readonly #writer: Writer
  readonly #events: EventLog
  readonly #clock: () => Date

  constructor (deps: { workspaces: Workspaces, writer: Writer, events: EventLog, clock: () => Date }) {
    this.#workspaces = deps.workspaces
    this.#writer = deps.writer
    this.#events = deps.events
    this.#clock = deps.clock
    deps.workspaces.onTransition((prev, next) => this.#transition(prev, next))
    deps.workspaces.onRunEnd((end, source) => this.#runEnded(end, source))
  }

  get settings (): Settings { return this.#settings }

  /** Forgets everything learnt since start-up, before it is restored from a store that opened late. */
  reset (): void {
    this.#version++
    this.#settings = toSettings({})
    Object.assign(this.config, { origin: 'default', applied_at: null, error: null })
    this.#backoff.clear()
    this.#rows.clear()
    this.#fired.clear()
    this.#daily.clear()
  }

  /** Restores backoffs, fail counts, daily counters and the last good configuration from the store. */
  hydrate (groups: Map<string, Entry[]>): void {
    this.#version++
    const runtime = new Map((groups.get(RUNTIME_GROUP) ?? []).map((e) => [e.key, JSON.parse(e.value as string) as Record<string, unknown>]))
    for (const [pool, b] of Object.entries(runtime.get('backoff') ?? {})) this.#backoff.set(pool, b as Backoff)
    const rows = (runtime.get('fail_rows') ?? {}) as StoredRows
    for (const [pool, n] of Object.entries(runtime.get('fail_count') ?? {})) this.#rows.set(pool, rows[pool]?.row ?? new Array<null>(n as number).fill(null))
    for (const [pool, { fired }] of Object.entries(rows)) if (fired !== undefined) this.#fired.set(pool, fired)
    for (const e of groups.get(DAILY_GROUP) ?? []) this.#daily.set(e.key, JSON.parse(e.value as string))
    const stored = (groups.get(CONFIG_GROUP) ?? []).find((e) => e.key === 'agents')
    if (stored !== undefined) {
      const { config, applied_at: at } = JSON.parse(stored.value as string) as { config: AgentsConfig, applied_at: string }
      this.#settings = toSettings(config)
      Object.assign(this.config, { origin: 'store', applied_at: at, error: null })
    }
  }

  /** Applies a validated configuration at once and stages it as the last good one; start-up commits it with its other steps. */
  applyConfig (config: AgentsConfig, origin: 'file' | 'api', by: string): void {
    const at = this.#clock().toISOString()
    this.#settings = toSettings(config)
    Object.assign(this.config, { origin, applied_at: at, error: null })
    this.#stage(CONFIG_GROUP, 'agents', JSON.stringify({ config, origin, applied_at: at }), at)
    this.#events.record('config', 'agents', { origin, by }, at)
  }

  /** Admission for `agent` (or for the pool as a whole when no agent is given) at `now`, as reason codes. */
  reasons (pool: string, agent: string | undefined, now: Date): Reason[] {
    const out: Reason[] = []
    const limit = this.#settings.limits.get(pool) ?? UNLIMITED
    const running = this.#workspaces.pool(pool)?.running ?? 0
    if (limit.total !== null && running >= limit.total) out.push('pool_full')
    const model = agent === undefined ? undefined : modelOf(agent)
    const modelLimit = model === undefined ? undefined : limit.models[model]
    if (modelLimit !== undefined && this.#workspaces.runningOf(agent as string) >= modelLimit) out.push('model_full')
    if (this.#activeBackoff(pool, now) !== undefined) out.push('backoff')
    const budget = this.#budget(pool, now)
    if (budget.limit !== null && budget.started >= budget.limit) out.push('daily_budget')
    return out
  }

  view (pool: string, now: Date): PoolView {
    const limit = this.#settings.limits.get(pool) ?? UNLIMITED
    const snap = this.#workspaces.pool(pool)
    const backoff = this.#activeBackoff(pool, now)
    const reasons = this.reasons(pool, undefined, now)
    const runningByModel: Record<string, number> = {}
    for (const model of Object.keys(limit.models)) runningByModel[model] = this.#workspaces.runningOf(`${pool}:${model}`)
    return {
      pool,
      running: snap?.running ?? 0,
      tracked: snap?.tracked ?? 0,
      limit: limit.total,
      model_limits: limit.models,
      running_by_model: runningByModel,
      backoff_until: backoff?.until ?? null,
      backoff_reason: backoff?.reason ?? null,
      fail_count: this.#rows.get(pool)?.length ?? 0,
      daily: this.#budget(pool, now),
      admissible: reasons.length === 0,
      reasons,
      snapshot_at: snap?.snapshot_at ?? null
    }
  }

  /**
   * The view of every pool (names() order) at `now`. Kept until pool state or the workspaces change, a
   * backoff ends or a budget day turns, so repeated reads (dashboards, /metrics) build nothing. The array is
   * shared between callers, which must not change it.
   */
  views (now: Date): PoolView[] {
    const t = now.getTime()
    const c = this.#views
    if (c !== null && c.pools === this.#version && c.workspaces === this.#workspaces.version && t >= c.from && t < c.until) return c.views
    const views = this.names().map((pool) => this.view(pool, now))
    let until = Infinity
    for (const v of views) {
      until = Math.min(until, Date.parse(v.daily.resets_at))
      if (v.backoff_until !== null) until = Math.min(until, Date.parse(v.backoff_until))
    }
    this.#views = { pools: this.#version, workspaces: this.#workspaces.version, from: t, until, views }
    return views
  }

  /** Every pool that is configured, tracked, backed off or counting failures. */
  names (): string[] {
    const names = new Set([...this.#settings.limits.keys(), ...this.#settings.rates.keys(), ...this.#backoff.keys(), ...this.#rows.keys(),
      ...Object.keys(this.#workspaces.concurrency())])
    return [...names].sort()
  }

  /** The active backoffs and fail counts, as the Go agent's runtime group held them. */
  runtime (now: Date): { backoff: Record<string, string>, fail_count: Record<string, number> } {
    const backoff: Record<string, string> = {}
    for (const pool of this.#backoff.keys()) {
      const b = this.#activeBackoff(pool, now)
      if (b !== undefined) backoff[pool] = b.until
    }
    return { backoff, fail_count: this.#failCounts() }
  }

  /** Backs a pool off until `until`, recorded with who did it; answers once stored, with the pool as it now stands. */
  async setBackoff (pool: string, until: Date, reason: string, by: string): Promise<{ view: PoolView, store: CommitResult }> {
    const at = this.#clock().toISOString()
    const b: Backoff = { until: until.toISOString(), reason, by }
    this.#backoff.set(pool, b)
    // The backoff that stands is no longer one a row of failures fired.
    this.#fired.delete(pool)
    this.#stageRuntime(at)
    this.#events.record('backoff', pool, { action: 'set', ...b }, at)
    return this.#committedView(pool)
  }

  /** Clears a pool's backoff and resets its fail count; answers once stored, with the pool as it now stands. */
  async clearBackoff (pool: string, by: string): Promise<{ view: PoolView, store: CommitResult }> {
    this.#backoff.delete(pool)
    this.#rows.delete(pool)
    this.#fired.delete(pool)
    const at = this.#clock().toISOString()
    this.#stageRuntime(at)
    this.#events.record('backoff', pool, { action: 'cleared', by }, at)
    return this.#committedView(pool)
  }

  /** Replaces the configuration for a caller of the API; answers once it is stored. */
  async replaceConfig (config: AgentsConfig, by: string): Promise<CommitResult> {
    this.applyConfig(config, 'api', by)
    return this.#writer.commit()
  }

  async #committedView (pool: string): Promise<{ view: PoolView, store: CommitResult }> {
    const store = await this.#writer.commit()
    return { view: this.view(pool, this.#clock()), store }
  }

  /** Drops expired backoffs and budget days that have turned; returns whether anything was staged. */
  sweep (now: Date): boolean {
    const expired = [...this.#backoff].filter(([, b]) => Date.parse(b.until) <= now.getTime()).map(([pool]) => pool)
    for (const pool of expired) {
      this.#backoff.delete(pool)
      this.#fired.delete(pool)
    }
    const at = now.toISOString()
    if (expired.length > 0) this.#stageRuntime(at)
    for (const [pool, d] of this.#daily) {
      if (d.since !== this.#dayStart(pool, now)) {
        this.#daily.delete(pool)
        this.#stage(DAILY_GROUP, pool, null, at)
      }
    }
    return expired.length > 0
  }

  /** Every change of pool state is staged: the one place that also tells the cached views they are stale. */
  #stage (grp: string, key: string, value: string | null, at: string): void {
    this.#version++
    this.#writer.stage(grp, key, value, at)
  }

  #activeBackoff (pool: string, now: Date): Backoff | undefined {
    const b = this.#backoff.get(pool)
    return b !== undefined && Date.parse(b.until) > now.getTime() ? b : undefined
  }

  #dayStart (pool: string, now: Date): string {
    return this.#days.of(now, this.#rate(pool).resetUtc).start
  }

  #rate (pool: string): { dailyLimit: number | null, resetUtc: string } {
    return this.#settings.rates.get(pool) ?? { dailyLimit: null, resetUtc: DEFAULT_RESET_UTC }
  }

  #budget (pool: string, now: Date): { started: number, limit: number | null, resets_at: string } {
    const rate = this.#rate(pool)
    const d = this.#daily.get(pool)
    const day = this.#days.of(now, rate.resetUtc)
    const started = d !== undefined && d.since === day.start ? d.started : 0
    return { started, limit: rate.dailyLimit, resets_at: day.next }
  }

  #failCounts (): Record<string, number> {
    return Object.fromEntries([...this.#rows].map(([pool, row]) => [pool, row.length]))
  }

  #stageRuntime (at: string): void {
    const backoff = Object.fromEntries(this.#backoff)
    const rows: StoredRows = {}
    for (const [pool, row] of this.#rows) rows[pool] = { row }
    for (const [pool, fired] of this.#fired) rows[pool] = { row: rows[pool]?.row ?? [], fired }
    // As the Go agent did: a key is deleted when its map is empty.
    this.#stage(RUNTIME_GROUP, 'backoff', this.#backoff.size > 0 ? JSON.stringify(backoff) : null, at)
    this.#stage(RUNTIME_GROUP, 'fail_count', this.#rows.size > 0 ? JSON.stringify(this.#failCounts()) : null, at)
    this.#stage(RUNTIME_GROUP, 'fail_rows', Object.keys(rows).length > 0 ? JSON.stringify(rows) : null, at)
  }

  /** The daily count, applied to one live change: a run starts. */
  #transition (prev: Workspace | undefined, next: Workspace): void {
    if (next.status !== 'running' || prev?.status === 'running') return
    const now = this.#clock()
    const since = this.#dayStart(next.pool, now)
    const d = this.#daily.get(next.pool)
    const started = (d !== undefined && d.since === since ? d.started : 0) + 1
    this.#daily.set(next.pool, { since, started })
    this.#stage(DAILY_GROUP, next.pool, JSON.stringify({ since, started }), now.toISOString())
  }

  /**
   * The automatic backoff rule, applied to one ended run: a failure (reported or reaped) within `fastFailS`
   * of its start is fast, and `failThreshold` of them in a row back the pool off; a slower failure or a
   * success breaks the row. A reap found at start-up, or a status.json read then, says nothing of when its
   * process ended, so it neither counts nor breaks the row. A run's own outcome after a reap takes the
   * reap's place (#overrule).
   */
  #runEnded (end: RunEnd, source: EndSource): void {
    if (source === 'file' || source === 'startup_reaper') return
    const failed = end.outcome === 'failed' || end.outcome === 'reaped'
    if (!failed && !FINISHED.has(end.outcome)) return
    const fast = failed && end.duration_s < this.#settings.fastFailS
    const at = this.#clock().toISOString()
    const run = `${end.workspace}#${end.runs}`
    if (source === 'late_outcome' && this.#overrule(end.pool, run, fast, at)) return this.#stageRuntime(at)
    if (fast) this.#setRow(end.pool, [...this.#rows.get(end.pool) ?? [], end.outcome === 'reaped' ? run : null], at)
    else if (!this.#breakRow(end.pool)) return
    this.#stageRuntime(at)
  }

  /**
   * A reaped run's own outcome, where its reap counted: a fast failure still counts, as reported; any other
   * outcome breaks the row where the reap stood, and if that row had fired the pool's automatic backoff, the
   * backoff is lifted (it was one failure short) and the failures after the reap count on. False when the
   * reap counts nowhere (any more): the outcome then counts as if it arrived on time.
   */
  #overrule (pool: string, run: string, fast: boolean, at: string): boolean {
    const row = this.#rows.get(pool) ?? []
    const fired = this.#fired.get(pool)
    const i = row.indexOf(run)
    if (i >= 0) {
      if (fast) row[i] = null
      else {
        this.#setRow(pool, row.slice(i + 1), at)
        if (fired !== undefined) fired.continued = false
      }
      return true
    }
    const j = fired?.row.indexOf(run) ?? -1
    if (fired === undefined || j < 0) return false
    if (fast) {
      fired.row[j] = null
      return true
    }
    this.#fired.delete(pool)
    const b = this.#activeBackoff(pool, new Date(at))
    this.#backoff.delete(pool)
    if (b !== undefined) this.#events.record('backoff', pool, { action: 'lifted', reason: `the own outcome of ${run} overruled its reap, one of "${b.reason}"`, by: 'auto' }, at)
    this.#setRow(pool, [...fired.row.slice(j + 1), ...(fired.continued ? row : [])], at)
    return true
  }

  /** Makes `row` the pool's current one; at the threshold it fires the automatic backoff instead. */
  #setRow (pool: string, row: Row, at: string): void {
    if (row.length < this.#settings.failThreshold) {
      if (row.length > 0) this.#rows.set(pool, row)
      else this.#rows.delete(pool)
      return
    }
    // Unlike the Go agent, the count restarts once the backoff fires, so one more fast failure
    // after it expires does not back the pool off again at once.
    this.#rows.delete(pool)
    // Kept while the backoff stands, for a reap in it that the run's own outcome may overrule.
    if (row.some((r) => r !== null)) this.#fired.set(pool, { row, continued: true })
    else this.#fired.delete(pool)
    const b: Backoff = {
      until: new Date(Date.parse(at) + this.#settings.backoffS * 1000).toISOString(),
      reason: `${row.length} failures in a row, each within ${this.#settings.fastFailS}s of starting`,
      by: 'auto'
    }
    this.#backoff.set(pool, b)
    this.#events.record('backoff', pool, { action: 'auto', ...b }, at)
  }

  /** A success or a slow failure: the row starts again. Returns whether anything changed. */
  #breakRow (pool: string): boolean {
    const fired = this.#fired.get(pool)
    const broke = fired?.continued === true
    if (fired !== undefined) fired.continued = false
    return this.#rows.delete(pool) || broke
  }
}
