/**
 * The past as the dashboard's charts draw it, kept in memory as events happen: how many workspaces ran per
 * pool over time, and how many runs finished per hour by outcome. Both are derived from workspace events
 * only. They used to be one SQL statement each over every stored event, on the writer's connection: one open
 * overview page took the median PUT from 16 ms to 1.6 s. Here a read costs a pass over the kept changes and
 * writes never wait for it.
 *
 * The changes start from the stored event log, read once, on the first read that needs them (start-up stays
 * as fast as before, and nothing is held for a service nobody charts); events recorded before that are kept
 * aside meanwhile. What `maxEvents` workspace events can leave is kept (two count changes and one finished run
 * each at most), oldest dropped first: as far back as the stored log (EVENT_RETENTION events) reaches.
 */
import type { EventLog } from './events.js'
import type { ChangeEvent } from './model.js'

/** What a workspace event says about the run: the fields the series need. */
export interface WorkspaceChange {
  /** The event id: changes are applied in id order. */
  id: number
  subject: string
  /** Epoch ms of the event's `at`. */
  at: number
  action: string
  status: string
  /** The pool (the agent before `:`); null when the event names no agent (a delete). */
  pool: string | null
}

export type Outcome = 'completed' | 'failed' | 'reaped' | 'other'

export interface RunningSeries {
  /** Bucket starts, in ms since the epoch, oldest first. */
  times: number[]
  /** Per pool, the most workspaces running at once during each bucket. */
  pools: Record<string, number[]>
}

export interface FinishedHour {
  /** The hour's start (UTC). */
  hour: string
  count: number
  completed: number
  failed: number
  reaped: number
  /** Left running for any other state: blocked, ready-for-review, merged, queued, deleted… */
  other: number
}

const HOUR_MS = 3_600_000

/** A workspace event as a change; null for every other event type. */
export function toWorkspaceChange (e: ChangeEvent): WorkspaceChange | null {
  if (e.type !== 'workspace') return null
  const agent = 'agent' in e.data ? e.data.agent : undefined
  return { id: e.id, subject: e.subject, at: Date.parse(e.at), action: e.data.action, status: e.data.status, pool: agent === undefined ? null : agent.split(':')[0] as string }
}

/** Append-only columns with the oldest entries dropped past a bound: numbers stay unboxed, compact at 10 M events. */
class Columns<K extends string> {
  readonly #cap: number
  #start = 0
  #dropped = false
  readonly cols: Record<K, number[]>

  constructor (names: readonly K[], cap: number) {
    this.#cap = cap
    this.cols = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<K, number[]>
  }

  get start (): number { return this.#start }
  get end (): number { return (Object.values(this.cols)[0] as number[]).length }
  /** Whether any entry was ever dropped: then the columns know nothing before their first kept entry. */
  get dropped (): boolean { return this.#dropped }

  push (row: Record<K, number>): void {
    for (const name in this.cols) this.cols[name].push(row[name])
    if (this.end - this.#start > this.#cap) { this.#start++; this.#dropped = true }
    // Drop the dropped entries for real once they are half the arrays.
    if (this.#start > this.#cap) {
      for (const name in this.cols) this.cols[name] = this.cols[name].slice(this.#start)
      this.#start = 0
    }
  }
}

const OUTCOMES: readonly Outcome[] = ['completed', 'failed', 'reaped', 'other']

function outcomeOf (c: WorkspaceChange): Outcome {
  if (c.action === 'reaped') return 'reaped'
  return c.status === 'completed' ? 'completed' : c.status === 'failed' ? 'failed' : 'other'
}

export class Activity {
  /** Where each workspace stands after its latest event: the pool it counts in and whether it runs. */
  readonly #where = new Map<string, { pool: string | null, running: boolean }>()
  /** Changes of a pool's running count, in event order: at (ms), pool (index into #poolNames), delta (±1). */
  readonly #changes: Columns<'at' | 'pool' | 'delta'>
  /** Runs that left `running`: at (ms) and outcome (index into OUTCOMES). */
  readonly #finished: Columns<'at' | 'outcome'>
  readonly #poolNames: string[] = []
  readonly #poolIndex = new Map<string, number>()
  readonly #maxEvents: number
  /** Events recorded by this process before the stored log was read, oldest first; null once it has been. */
  #early: WorkspaceChange[] | null = []
  #loading: Promise<void> | null = null
  /** When the oldest change applied happened (ms): the series knows nothing before it. */
  #firstAt: number | null = null

  constructor (events: EventLog, maxEvents: number) {
    this.#maxEvents = maxEvents
    this.#changes = new Columns(['at', 'pool', 'delta'], 2 * maxEvents)
    this.#finished = new Columns(['at', 'outcome'], maxEvents)
    events.on('event', (e) => {
      const change = toWorkspaceChange(e)
      if (change === null) return
      if (this.#early === null) this.#apply(change)
      else this.#keepEarly(change)
    })
  }

  /**
   * Reads the stored log once (the first caller's `read`, given the id below which it must read: events from
   * that id on were recorded by this process and are applied after); concurrent callers wait for the same
   * read, and a failed one is tried again by the next caller.
   */
  ready (read: (beforeId: number | null) => Promise<Iterable<WorkspaceChange>>): Promise<void> {
    if (this.#early === null) return Promise.resolve()
    this.#loading ??= (async () => {
      const stored = await read(this.#early?.[0]?.id ?? null)
      for (const c of stored) this.#apply(c)
      for (const c of this.#early ?? []) this.#apply(c)
      this.#early = null
    })().finally(() => { this.#loading = null })
    return this.#loading
  }

  #keepEarly (change: WorkspaceChange): void {
    const early = this.#early as WorkspaceChange[]
    early.push(change)
    // More than the log keeps: the stored log holds them all once committed, so start over from the next one.
    if (early.length > this.#maxEvents) early.length = 0
  }

  #pool (name: string): number {
    let i = this.#poolIndex.get(name)
    if (i === undefined) {
      i = this.#poolNames.push(name) - 1
      this.#poolIndex.set(name, i)
    }
    return i
  }

  /** One event: the running counts it moves (a pool left, a pool joined) and the run it finishes. */
  #apply (c: WorkspaceChange): void {
    this.#firstAt ??= c.at
    const before = this.#where.get(c.subject)
    const pool = c.pool ?? before?.pool ?? null
    // A delete's status is the one the workspace had: it stops running all the same.
    const running = c.status === 'running' && c.action !== 'deleted'
    const wasRunning = before?.running ?? false
    if (!(running && wasRunning && pool === before?.pool)) {
      if (wasRunning && before?.pool != null) this.#changes.push({ at: c.at, pool: this.#pool(before.pool), delta: -1 })
      if (running && pool !== null) this.#changes.push({ at: c.at, pool: this.#pool(pool), delta: 1 })
    }
    if (wasRunning && !running) this.#finished.push({ at: c.at, outcome: OUTCOMES.indexOf(outcomeOf(c)) })
    // A deleted workspace starts from nothing if it comes back (its next event names its agent).
    if (c.action === 'deleted') this.#where.delete(c.subject)
    else this.#where.set(c.subject, { pool, running })
  }

  /** Since when the series know (ms): the oldest workspace event kept, null while there is none. */
  firstAt (): number | null {
    const changes = this.#changes
    return changes.dropped && changes.end > changes.start ? changes.cols.at[changes.start] ?? null : this.#firstAt
  }

  /**
   * Running workspaces per pool in buckets of `stepMs` from `sinceMs` to `untilMs`. The kept changes give
   * every change of the count; today's count (`current`, from memory) anchors them, so the level before the
   * first change in the window is `now − the sum of the changes since`.
   */
  runningSeries (current: ReadonlyMap<string, number>, sinceMs: number, untilMs: number, stepMs: number): RunningSeries {
    // Levels count from 0 at the window's start; per pool and bucket, the highest and the last.
    const { at, pool, delta } = this.#changes.cols
    const level = new Map<number, number>()
    const buckets = new Map<number, Map<number, { max: number, last: number }>>()
    for (let i = this.#changes.start; i < this.#changes.end; i++) {
      const t = at[i] as number
      if (t < sinceMs) continue
      const p = pool[i] as number
      const l = (level.get(p) ?? 0) + (delta[i] as number)
      level.set(p, l)
      const bucket = Math.floor((t - sinceMs) / stepMs)
      let perPool = buckets.get(p)
      if (perPool === undefined) buckets.set(p, perPool = new Map())
      const b = perPool.get(bucket)
      if (b === undefined) perPool.set(bucket, { max: l, last: l })
      else { b.max = Math.max(b.max, l); b.last = l }
    }

    const count = Math.max(1, Math.ceil((untilMs - sinceMs) / stepMs))
    const times = Array.from({ length: count }, (_, i) => sinceMs + i * stepMs)
    const byName = new Map([...buckets].map(([p, perPool]) => [this.#poolNames[p] as string, [...perPool].sort(([a], [b]) => a - b)]))
    const pools: Record<string, number[]> = {}
    for (const name of new Set([...current.keys(), ...byName.keys()])) {
      const changes = byName.get(name) ?? []
      // The last level must land on today's count.
      const offset = (current.get(name) ?? 0) - (changes[changes.length - 1]?.[1].last ?? 0)
      const series = new Array<number>(count)
      let carried = offset
      let next = 0
      for (let i = 0; i < count; i++) {
        const change = changes[next]
        if (change !== undefined && change[0] === i) {
          series[i] = Math.max(carried, change[1].max + offset)
          carried = change[1].last + offset
          next++
        } else {
          series[i] = carried
        }
      }
      pools[name] = series
    }
    return { times, pools }
  }

  /** Runs that left `running` per UTC hour in `[sinceMs, untilMs)`, by outcome, oldest hour first; a reaped run counts as `reaped`, not `failed`. */
  finishedPerHour (sinceMs: number, untilMs: number): FinishedHour[] {
    const { at, outcome } = this.#finished.cols
    const hours = new Map<number, number[]>()
    for (let i = this.#finished.start; i < this.#finished.end; i++) {
      const t = at[i] as number
      if (t < sinceMs || t >= untilMs) continue
      const hour = Math.floor(t / HOUR_MS) * HOUR_MS
      let counts = hours.get(hour)
      if (counts === undefined) hours.set(hour, counts = [0, 0, 0, 0])
      const o = outcome[i] as number
      counts[o] = (counts[o] ?? 0) + 1
    }
    return [...hours].sort(([a], [b]) => a - b).map(([hour, [completed = 0, failed = 0, reaped = 0, other = 0]]) => ({
      hour: new Date(hour).toISOString(),
      count: completed + failed + reaped + other,
      completed,
      failed,
      reaped,
      other
    }))
  }
}
