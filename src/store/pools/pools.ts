/**
 * Pools (API §5): limits from the configuration, backoff and fail counts, the daily budget, and the
 * admission rule with its reasons. Runtime state is staged with the change that caused it, so it is
 * durable in the same commit.
 */
import type { Workspace } from '../workspaces/model.js'
import { DEFAULT_RESET_UTC, toSettings, type AgentsConfig, type PoolLimit, type Settings } from './agents-config.js'
import { lastReset, nextReset } from './daily.js'
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
const UNLIMITED: PoolLimit = { total: null, models: {} }
const modelOf = (agent: string): string | undefined => agent.includes(':') ? agent.slice(agent.indexOf(':') + 1) : undefined

export class Pools {
  #settings: Settings = toSettings({})
  readonly config: ConfigState = { origin: 'default', applied_at: null, error: null }
  readonly #backoff = new Map<string, Backoff>()
  readonly #failCount = new Map<string, number>()
  readonly #daily = new Map<string, { since: string, started: number }>()
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
  }

  get settings (): Settings { return this.#settings }

  /** Forgets everything learnt since start-up, before it is restored from a store that opened late. */
  reset (): void {
    this.#settings = toSettings({})
    Object.assign(this.config, { origin: 'default', applied_at: null, error: null })
    this.#backoff.clear()
    this.#failCount.clear()
    this.#daily.clear()
  }

  /** Restores backoffs, fail counts, daily counters and the last good configuration from the store. */
  hydrate (groups: Map<string, Entry[]>): void {
    for (const e of groups.get(RUNTIME_GROUP) ?? []) {
      const map = JSON.parse(e.value as string) as Record<string, unknown>
      if (e.key === 'backoff') for (const [pool, b] of Object.entries(map)) this.#backoff.set(pool, b as Backoff)
      if (e.key === 'fail_count') for (const [pool, n] of Object.entries(map)) this.#failCount.set(pool, n as number)
    }
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
    this.#writer.stage(CONFIG_GROUP, 'agents', JSON.stringify({ config, origin, applied_at: at }), at)
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
      fail_count: this.#failCount.get(pool) ?? 0,
      daily: this.#budget(pool, now),
      admissible: reasons.length === 0,
      reasons,
      snapshot_at: snap?.snapshot_at ?? null
    }
  }

  /** Every pool that is configured, tracked, backed off or counting failures. */
  names (): string[] {
    const names = new Set([...this.#settings.limits.keys(), ...this.#settings.rates.keys(), ...this.#backoff.keys(), ...this.#failCount.keys(),
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
    return { backoff, fail_count: Object.fromEntries(this.#failCount) }
  }

  /** Backs a pool off until `until`, recorded with who did it; answers once stored, with the pool as it now stands. */
  async setBackoff (pool: string, until: Date, reason: string, by: string): Promise<{ view: PoolView, store: CommitResult }> {
    const at = this.#clock().toISOString()
    const b: Backoff = { until: until.toISOString(), reason, by }
    this.#backoff.set(pool, b)
    this.#stageRuntime(at)
    this.#events.record('backoff', pool, { action: 'set', ...b }, at)
    return this.#committedView(pool)
  }

  /** Clears a pool's backoff and resets its fail count; answers once stored, with the pool as it now stands. */
  async clearBackoff (pool: string, by: string): Promise<{ view: PoolView, store: CommitResult }> {
    this.#backoff.delete(pool)
    this.#failCount.delete(pool)
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
    for (const pool of expired) this.#backoff.delete(pool)
    const at = now.toISOString()
    if (expired.length > 0) this.#stageRuntime(at)
    for (const [pool, d] of this.#daily) {
      if (d.since !== this.#dayStart(pool, now)) {
        this.#daily.delete(pool)
        this.#writer.stage(DAILY_GROUP, pool, null, at)
      }
    }
    return expired.length > 0
  }

  #activeBackoff (pool: string, now: Date): Backoff | undefined {
    const b = this.#backoff.get(pool)
    return b !== undefined && Date.parse(b.until) > now.getTime() ? b : undefined
  }

  #dayStart (pool: string, now: Date): string {
    return lastReset(now, this.#rate(pool).resetUtc).toISOString()
  }

  #rate (pool: string): { dailyLimit: number | null, resetUtc: string } {
    return this.#settings.rates.get(pool) ?? { dailyLimit: null, resetUtc: DEFAULT_RESET_UTC }
  }

  #budget (pool: string, now: Date): { started: number, limit: number | null, resets_at: string } {
    const rate = this.#rate(pool)
    const d = this.#daily.get(pool)
    const started = d !== undefined && d.since === this.#dayStart(pool, now) ? d.started : 0
    return { started, limit: rate.dailyLimit, resets_at: nextReset(now, rate.resetUtc).toISOString() }
  }

  #stageRuntime (at: string): void {
    const backoff = Object.fromEntries(this.#backoff)
    const fails = Object.fromEntries(this.#failCount)
    // As the Go agent did: a key is deleted when its map is empty.
    this.#writer.stage(RUNTIME_GROUP, 'backoff', this.#backoff.size > 0 ? JSON.stringify(backoff) : null, at)
    this.#writer.stage(RUNTIME_GROUP, 'fail_count', this.#failCount.size > 0 ? JSON.stringify(fails) : null, at)
  }

  /** The daily count and the automatic backoff rule, applied to one live change. */
  #transition (prev: Workspace | undefined, next: Workspace): void {
    const now = this.#clock()
    const at = now.toISOString()
    if (next.status === 'running' && prev?.status !== 'running') {
      const since = this.#dayStart(next.pool, now)
      const d = this.#daily.get(next.pool)
      const started = (d !== undefined && d.since === since ? d.started : 0) + 1
      this.#daily.set(next.pool, { since, started })
      this.#writer.stage(DAILY_GROUP, next.pool, JSON.stringify({ since, started }), at)
    }
    if (prev?.status !== 'running' || next.status === 'running') return
    const pool = prev.pool
    const before = this.#failCount.get(pool) ?? 0
    if (next.status === 'failed' && now.getTime() - Date.parse(prev.started_at) < this.#settings.fastFailS * 1000) {
      const count = before + 1
      if (count >= this.#settings.failThreshold) {
        // Unlike the Go agent, the count restarts once the backoff fires, so one more fast failure
        // after it expires does not back the pool off again at once.
        this.#failCount.delete(pool)
        const b: Backoff = {
          until: new Date(now.getTime() + this.#settings.backoffS * 1000).toISOString(),
          reason: `${count} failures in a row, each within ${this.#settings.fastFailS}s of starting`,
          by: 'auto'
        }
        this.#backoff.set(pool, b)
        this.#events.record('backoff', pool, { action: 'auto', ...b }, at)
      } else {
        this.#failCount.set(pool, count)
      }
    } else if (next.status === 'failed' || FINISHED.has(next.status)) {
      if (before === 0) return
      this.#failCount.delete(pool)
    } else {
      return
    }
    this.#stageRuntime(at)
  }
}
