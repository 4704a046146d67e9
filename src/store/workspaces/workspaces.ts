/**
 * Workspace tracking: the in-memory registry every read is served from, and the one write path that
 * keeps the registry, the queue entry, the pool's concurrency snapshot and the event log in one commit.
 */
import type { Logger } from '../core/logger.js'
import type { PoolSnapshot, Status, Workspace, WorkspaceParams, WorkspaceReport } from './model.js'
import { STATUSES } from './model.js'
import { decodeCursor, pageJson } from '../core/cursor.js'
import { PageBudget } from '../core/page-budget.js'
import { checkIfMatch, checkIfNoneMatch, etagOf } from '../core/etag.js'
import { DomainError, illegalTransition, notFound, staleRun } from '../core/errors.js'
import type { EventLog } from '../events/events.js'
import type { ReapedGhost } from '../startup/report.js'
import { reportedEnd, runEnd, type Change, type EndSource, type RunEnd } from './run-ends.js'
import { SortedKeys } from '../core/sorted-keys.js'
import { byCodeUnits, SortedList } from '../core/sorted-list.js'
import { drainOrder, type DrainKey } from './queue.js'
import { toIso } from '../core/time.js'
import { Stamps } from './stamps.js'
import type { StatusFiles } from './status-files.js'
import type { CommitResult, Writer } from '../core/writer.js'

export const REGISTRY_GROUP = 'registry'
export const QUEUE_GROUP = 'queue'
export const CONCURRENCY_GROUP = 'concurrency'

// The start of a record as JSON.stringify writes it (the field order of every record this service builds):
// names and agents match patterns without quotes or backslashes, so the first seven fields are read
// without parsing the rest. A text in any other shape is parsed whole.
const HEAD = /^\{"name":("[^"\\]*"),"org":"[^"\\]*","repo":"[^"\\]*","leaf":"[^"\\]*","status":"([^"\\]*)","agent":"([^"\\]*)","pool":"([^"\\]*)"/

/**
 * A stored record with its serialised form, computed once per version and reused by every read. The
 * fields the indexes need are kept apart; a record read from the store is parsed on first use, so
 * hydrating 100,000 workspaces neither parses them all nor holds each twice (as text and as objects),
 * and a record only held in memory (a heartbeat's) is serialised when something first reads it.
 */
export class Tracked {
  readonly name: string
  readonly status: Status
  readonly agent: string
  readonly pool: string
  // At least one of the two is always set.
  #json: string | undefined
  #record: Workspace | undefined
  #etag: string | undefined

  private constructor (head: Pick<Workspace, 'name' | 'status' | 'agent' | 'pool'>, json: string | undefined, record?: Workspace) {
    this.name = head.name
    this.status = head.status
    this.agent = head.agent
    this.pool = head.pool
    this.#json = json
    this.#record = record
  }

  /** A record the service just built or changed. */
  static of (record: Workspace): Tracked {
    return new Tracked(record, undefined, record)
  }

  /** A record as the store holds it (JSON.stringify's text of a Workspace), parsed when first read. */
  static stored (json: string): Tracked {
    const head = HEAD.exec(json)
    if (head === null) {
      const record = JSON.parse(json) as Workspace
      return new Tracked(record, json, record)
    }
    // The name is parsed into a string of its own: a slice of the stored text sorts and hashes at half the speed.
    return new Tracked({ name: JSON.parse(head[1] as string) as string, status: head[2] as Status, agent: head[3] as string, pool: head[4] as string }, json)
  }

  /** The record as JSON: what is stored, answered and hashed. Serialised once, when first needed. */
  get json (): string {
    this.#json ??= JSON.stringify(this.#record)
    return this.#json
  }

  /** The record, parsed afresh when it is not held, and not kept: for passes over many records. */
  peek (): Workspace {
    return this.#record ?? JSON.parse(this.#json as string) as Workspace
  }

  get record (): Workspace {
    this.#record ??= JSON.parse(this.#json as string) as Workspace
    return this.#record
  }

  /** A strong ETag: a hash of the stored JSON, so it is stable across restarts. Computed on first use. */
  get etag (): string {
    this.#etag ??= etagOf(this.json)
    return this.#etag
  }
}

export interface WorkspaceFilter {
  status?: Status
  pool?: string
  agent?: string
  org?: string
  repo?: string
}

/** The queue entry kept while a workspace is `queued`, as the Go agent kept it. */
export interface QueueEntry {
  name: string
  org: string
  repo: string
  branch?: string
  task: string
  agent: string
  pool: string
  priority: number
  queued_at: string
}

export const poolOf = (agent: string): string => agent.split(':')[0] as string

const track = (record: Workspace): Tracked => Tracked.of(record)

const iso = toIso

/** Records one list request examines at most: a filter that matches little cannot make a page cost the fleet. */
export const SCAN_BUDGET = 10_000

/** The event a record the service produced is announced with; `at_startup` marks the start-up pass's verdicts. */
type PutEvent = { action: 'claimed' } | { action: 'reaped', reason: ReapedGhost['reason'], at_startup?: true }

/** Outcomes that may overrule a reap of their run: a run's end, not a new start or a return to the queue. */
const OUTCOMES_AFTER_REAP: ReadonlySet<Status> = new Set(STATUSES.filter((s) => s !== 'running' && s !== 'queued'))

export class Workspaces {
  readonly #items = new Map<string, Tracked>()
  // Counts every change of the set of records, their statuses or pools: what the cached read models key on.
  #version = 0
  readonly #names = new SortedKeys()
  readonly #byStatus = new Map<Status, number>(STATUSES.map((s) => [s, 0]))
  // Names per status for the two that are read as lists: the blocked summary and the queue.
  readonly #blocked = new Set<string>()
  readonly #queued = new Set<string>()
  // And the running ones, the only ones the reaper judges: the others' records need not be parsed.
  readonly #running = new Set<string>()
  // The same two lists in the order they are read in, so a read costs its page rather than a sort of every
  // record: the blocked summary (newest first) and the queue (drain order). Built on first read, not at
  // start-up (it parses those records), then kept up to date with every change.
  #blockedOrder: SortedList<Workspace> | null = null
  #queueOrder: SortedList<Workspace, DrainKey> | null = null
  readonly #pools = new Map<string, PoolSnapshot>()
  readonly #runningByAgent = new Map<string, number>()
  readonly #listeners: Array<(prev: Workspace | undefined, next: Workspace) => void> = []
  readonly #runEndListeners: Array<(end: RunEnd, source: EndSource) => void> = []
  readonly #writer: Writer
  readonly #events: EventLog
  readonly #files: StatusFiles
  readonly #clock: () => Date
  readonly #log: Logger
  /** What the store acknowledged for each name beyond its record (deletions, lower re-creations), so no file undoes it. */
  readonly stamps: Stamps

  constructor (deps: { writer: Writer, events: EventLog, files: StatusFiles, clock: () => Date, log: Logger }) {
    this.#writer = deps.writer
    this.#events = deps.events
    this.#files = deps.files
    this.#clock = deps.clock
    this.#log = deps.log
    this.stamps = new Stamps(deps.writer)
  }

  get size (): number { return this.#items.size }

  /** Grows with every change but heartbeats: an answer built from the records holds while it stays the same. */
  get version (): number { return this.#version }

  get (name: string): Tracked | undefined {
    return this.#items.get(name)
  }

  /** Running records, unordered; a stored one is parsed for the caller without being kept. */
  running (): Workspace[] {
    return [...this.#running].map((n) => (this.#items.get(n) as Tracked).peek())
  }

  /**
   * Loads records without writing them back (start-up hydration); the pool snapshots are recomputed.
   * Records read from the store come with their stored JSON, which is reused rather than re-encoded.
   */
  load (records: Iterable<Workspace | Tracked>): void {
    const names: string[] = []
    // Hydration adds in bulk: the ordered lists are rebuilt at their next read rather than spliced per record.
    this.#blockedOrder = null
    this.#queueOrder = null
    for (const r of records) {
      const tracked = r instanceof Tracked ? r : track(r)
      if (!this.#items.has(tracked.name)) names.push(tracked.name)
      this.#apply(tracked.name, tracked, false)
    }
    this.#names.addAll(names)
    const at = this.#clock().toISOString()
    for (const pool of this.#pools.keys()) this.#snapshot(pool, at)
  }

  /** Forgets every record without staging anything, before memory is rebuilt from the store (a store that opened late). */
  forgetAll (): void {
    for (const name of [...this.#items.keys()]) this.#apply(name, undefined, false)
    this.stamps.forgetAll()
  }

  /**
   * A page of records in name order, as a ready JSON body, within `limit` records and `maxBytes` (at least
   * one record). At most SCAN_BUDGET records are examined: a filtered page may then hold fewer than `limit`
   * (even none) and still have a next cursor.
   */
  page (filter: WorkspaceFilter, limit: number, cursor: string | undefined, maxBytes: number): string {
    const page = new PageBudget(limit, maxBytes)
    // The last record examined and settled (served, or not matching): the next page resumes after it.
    let last: string | undefined
    let more = false
    let examined = 0
    for (const name of this.#names.after(decodeCursor(cursor))) {
      if (examined++ === SCAN_BUDGET) { more = true; break }
      const t = this.#items.get(name) as Tracked
      const [org, repo] = name.split('/')
      if ((filter.status !== undefined && t.status !== filter.status) ||
        (filter.pool !== undefined && t.pool !== filter.pool) ||
        (filter.agent !== undefined && t.agent !== filter.agent) ||
        (filter.org !== undefined && org !== filter.org) ||
        (filter.repo !== undefined && repo !== filter.repo)) {
        last = name
        continue
      }
      if (!page.offer(t.json)) { more = true; break }
      last = name
    }
    return pageJson(page.items, more ? last : undefined)
  }

  /** Workspaces tracked, per status (zeros included): kept as records change, so O(statuses). */
  counts (): { total: number, by_status: Record<string, number> } {
    return { total: this.#items.size, by_status: Object.fromEntries(this.#byStatus) }
  }

  /** The `limit` most recently updated blocked workspaces, newest first. */
  recentlyBlocked (limit: number): Workspace[] {
    const out: Workspace[] = []
    for (const w of this.#ordered('blocked').after(undefined)) {
      if (out.length === limit) break
      out.push(w)
    }
    return out
  }

  /** Running and tracked counts of one pool (undefined when nothing of it is tracked). */
  pool (pool: string): PoolSnapshot | undefined {
    return this.#pools.get(pool)
  }

  /** Running workspaces per exact agent string, e.g. `codex:gpt-5.4`. */
  runningOf (agent: string): number {
    return this.#runningByAgent.get(agent) ?? 0
  }

  /** Queued records in drain order, strictly after `after` (from the head when undefined; it need not be queued). */
  queued (after?: DrainKey): Generator<Workspace> {
    return this.#ordered('queued').after(after)
  }

  /** The ordered list of blocked or queued records, built from the names on first use. */
  #ordered (status: 'blocked'): SortedList<Workspace>
  #ordered (status: 'queued'): SortedList<Workspace, DrainKey>
  #ordered (status: 'blocked' | 'queued'): SortedList<Workspace> | SortedList<Workspace, DrainKey> {
    const records = (names: Set<string>) => [...names].map((n) => (this.#items.get(n) as Tracked).record)
    if (status === 'blocked') {
      if (this.#blockedOrder === null) {
        this.#blockedOrder = new SortedList<Workspace>(newestFirst)
        this.#blockedOrder.addAll(records(this.#blocked))
      }
      return this.#blockedOrder
    }
    if (this.#queueOrder === null) {
      this.#queueOrder = new SortedList<Workspace, DrainKey>(drainOrder)
      this.#queueOrder.addAll(records(this.#queued))
    }
    return this.#queueOrder
  }

  /** Called synchronously, in the same commit, for every live change (reports, claims, the reaper; not hydration). */
  onTransition (listener: (prev: Workspace | undefined, next: Workspace) => void): void {
    this.#listeners.push(listener)
  }

  /**
   * Called synchronously for every run that a live change ends (run-ends.ts says which), deletes and
   * start-up status files included, so whatever the listener stages rides in the same commit. `source`
   * says what ended it, so a reap can be told from evidence (and a late outcome replaces a reap).
   */
  onRunEnd (listener: (end: RunEnd, source: EndSource) => void): void {
    this.#runEndListeners.push(listener)
  }

  concurrency (): Record<string, PoolSnapshot> {
    return Object.fromEntries([...this.#pools].sort(([a], [b]) => a < b ? -1 : 1))
  }

  /** Applies a full status report (API §3): If-Match, If-None-Match, fencing, then one durable commit of every effect. */
  async report (p: WorkspaceParams, body: WorkspaceReport, ifMatch?: string, ifNoneMatch?: string): Promise<{ tracked: Tracked, created: boolean, store: CommitResult }> {
    const name = `${p.org}/${p.repo}/${p.leaf}`
    const prev = this.#items.get(name)
    // The stored record is hashed only for a condition that needs its ETag.
    if (ifMatch !== undefined) checkIfMatch(prev?.etag, ifMatch, 'the workspace')
    if (ifNoneMatch !== undefined) checkIfNoneMatch(prev?.etag, ifNoneMatch, 'the workspace')
    const late = prev !== undefined && this.#fence(prev.record, body)

    const now = this.#clock().toISOString()
    const old = prev?.record
    const sameRun = old !== undefined && old.runs === body.runs
    const record: Workspace = {
      name,
      org: p.org,
      repo: p.repo,
      leaf: p.leaf,
      status: body.status,
      agent: body.agent,
      pool: poolOf(body.agent),
      runs: body.runs,
      task: body.task ?? '',
      branch: body.branch,
      issue: body.issue,
      pid: body.pid,
      pid_started_at: iso(body.pid_started_at),
      host: body.host,
      process_id: body.process_id,
      question: body.question,
      priority: body.priority ?? 0,
      pr_url: body.pr_url,
      note: body.note,
      runtime: body.runtime,
      started_at: iso(body.started_at) ?? (sameRun ? old.started_at : now),
      queued_at: body.status === 'queued' ? (old?.status === 'queued' ? old.queued_at : now) : undefined,
      updated_at: now,
      heartbeat_at: body.status === 'running' ? now : undefined,
      // A verdict stays on the run it was given to, until the run's own outcome overrules it; a new run starts clean.
      reaped: sameRun && !late ? old.reaped : undefined
    }
    // The run's start bounds its end only where it is known: this run's stored start, or one the report gives.
    const endedAt = reportedEnd(body, sameRun || body.started_at !== undefined ? record.started_at : undefined, now)
    const tracked = track(record)
    this.#apply(name, tracked, true, { source: late ? 'late_outcome' : 'report', ended_at: endedAt })
    for (const l of this.#listeners) l(old, record)
    // The reap stays in the workspace's events; this one says which verdict the outcome overruled.
    const overrules = late ? { overrules: old?.reaped } : {}
    this.#events.record('workspace', name, { action: prev === undefined ? 'created' : 'updated', status: record.status, runs: record.runs, agent: record.agent, ...overrules }, now)
    const store = await this.#writer.commit(`report: workspace ${name}`)
    await this.syncFile(name)
    return { tracked, created: prev === undefined, store }
  }

  /** Stops tracking a workspace; a no-op (but still an answer) when it is unknown. */
  async remove (p: WorkspaceParams, ifMatch?: string): Promise<{ removed: boolean, store: CommitResult }> {
    const name = `${p.org}/${p.repo}/${p.leaf}`
    const prev = this.#items.get(name)
    if (prev === undefined) {
      if (ifMatch !== undefined) checkIfMatch(undefined, ifMatch, 'the workspace')
      return { removed: false, store: { mode: this.#writer.mode } }
    }
    if (ifMatch !== undefined) checkIfMatch(prev.etag, ifMatch, 'the workspace')
    const now = this.#clock().toISOString()
    this.#apply(name, undefined, true, { source: 'delete' })
    this.#events.record('workspace', name, { action: 'deleted', status: prev.record.status }, now)
    return { removed: true, store: await this.#writer.commit(`delete: workspace ${name}`) }
  }

  /**
   * Stores a record the service itself produced (the reaper's verdict, a status.json read at start-up)
   * with all its derived entries; `event` names the event's action, or is null for none, and carries the
   * reaper's reason, so a stream client or the metrics can tell ghosts apart. The caller commits.
   */
  put (record: Workspace, event: PutEvent | null): Tracked {
    const prev = this.#items.get(record.name)?.record
    const tracked = track(record)
    const source: EndSource = event === null ? 'file' : event.action !== 'reaped' ? 'report' : event.at_startup === true ? 'startup_reaper' : 'reaper'
    this.#apply(record.name, tracked, true, { source })
    if (event !== null) {
      for (const l of this.#listeners) l(prev, record)
      this.#events.record('workspace', record.name, { ...event, status: record.status, runs: record.runs, agent: record.agent }, record.updated_at)
    }
    return tracked
  }

  /** Keeps a running workspace alive (API §3): 404 unknown, 409 `not_running` once it finished or was reaped. */
  heartbeat (p: WorkspaceParams, runs: number | undefined): { tracked: Tracked, store: CommitResult } {
    const name = `${p.org}/${p.repo}/${p.leaf}`
    const current = this.#items.get(name)
    if (current === undefined) throw notFound(`workspace ${name}`)
    const r = current.record
    if (r.status !== 'running') {
      const why = r.reaped === undefined ? '' : ` (reaped: ${r.reaped.evidence})`
      throw new DomainError('not_running', `workspace ${name} is ${r.status}${why}`)
    }
    if (runs !== undefined && runs !== r.runs) throw staleRun(`heartbeat for run ${runs}, but the workspace is on run ${r.runs}`)
    // No event, no status.json rewrite and no commit: the lease clock restarts with the service (the
    // reaper never looks further back than its own start), so a heartbeat on disk would never be read.
    // Memory is the lease's only home; the stamp reaches the store with the workspace's next stored change.
    // Status, agent and pool stay, so no count, index or cached answer changes: the record is only replaced
    // (and serialised when something reads it).
    const tracked = track({ ...r, heartbeat_at: this.#clock().toISOString() })
    this.#items.set(name, tracked)
    return { tracked, store: { mode: this.#writer.mode } }
  }

  /**
   * Rewrites the workspace's status.json with the current record, if its folder exists; called after the
   * commit of every change to it (reports, claims, the reaper). The record may be gone by then (a delete
   * in between): the write is then skipped.
   */
  async syncFile (name: string): Promise<void> {
    const [org, repo, leaf] = name.split('/') as [string, string, string]
    try {
      await this.#files.write(name, org, repo, leaf, () => this.#items.get(name)?.record)
    } catch (err) {
      // The store already holds the record; a file we cannot write is worth a warning, not a failed report.
      this.#log.warn({ err, workspace: name }, 'could not rewrite status.json')
    }
  }

  /** Whether the fences refuse `next` over the record `old`, as they would a report of it: a status.json is held to them too. */
  fences (old: Workspace, next: WorkspaceReport): boolean {
    try {
      this.#fence(old, next)
    } catch (err) {
      if (err instanceof DomainError) return true
      throw err
    }
    return false
  }

  /**
   * Refuses a report that would undo a later one; true when it is the reaped run's own outcome, with the
   * time the run ended: evidence that overrules the reaper's inference (no newer run has started, or `runs`
   * would be higher).
   */
  #fence (old: Workspace, body: WorkspaceReport): boolean {
    if (body.runs < old.runs) throw staleRun(`report for run ${body.runs} is older than the stored run ${old.runs}`)
    if (old.reaped !== undefined && body.runs === old.runs) {
      if (OUTCOMES_AFTER_REAP.has(body.status) && body.ended_at !== undefined) return true
      throw staleRun(`run ${old.runs} was reaped (${old.reaped.reason}); report its outcome with ended_at, or a higher runs to resume`)
    }
    const resumable = old.status !== 'running' && old.status !== 'queued'
    if (body.status === 'running' && resumable && body.runs === old.runs) {
      throw illegalTransition(`moving a ${old.status} workspace back to running needs a higher runs than ${old.runs}`)
    }
    return false
  }

  /**
   * Replaces (or with undefined, deletes) one record in memory and, for a live change, stages every
   * derived entry. Hydration and heartbeats (`live` false) stage nothing; hydration leaves the name index to its caller.
   * `change` says what made a live change, for the run it may end.
   */
  #apply (name: string, next: Tracked | undefined, live = true, change: Change = { source: 'report' }): void {
    this.#version++
    const old = this.#items.get(name)
    if (old !== undefined) this.#count(old, -1)
    if (next === undefined) {
      this.#items.delete(name)
      this.#names.delete(name)
    } else {
      if (old === undefined && live) this.#names.add(name)
      this.#items.set(name, next)
      this.#count(next, +1)
    }
    if (!live) return
    // Records are parsed from here on only: hydration and heartbeats keep stored ones as text.
    const prev = old?.record
    const rec = next?.record
    const at = rec?.updated_at ?? this.#clock().toISOString()
    this.stamps.follow(name, prev, rec, at)
    const end = runEnd(prev, rec, at, change)
    if (end !== null) for (const l of this.#runEndListeners) l(end, change.source)
    this.#writer.stage(REGISTRY_GROUP, name, next?.json ?? null, at)
    // A queue entry exists exactly while the record is queued: no tombstone for one that never existed.
    if (rec?.status === 'queued') this.#writer.stage(QUEUE_GROUP, name, JSON.stringify(queueEntry(rec)), at)
    else if (prev?.status === 'queued') this.#writer.stage(QUEUE_GROUP, name, null, at)
    for (const pool of new Set([prev?.pool, rec?.pool])) if (pool !== undefined) this.#snapshot(pool, at)
  }

  #count (r: Tracked, delta: 1 | -1): void {
    this.#byStatus.set(r.status, (this.#byStatus.get(r.status) ?? 0) + delta)
    const names = r.status === 'blocked' ? this.#blocked : r.status === 'queued' ? this.#queued : r.status === 'running' ? this.#running : undefined
    if (delta > 0) names?.add(r.name)
    else names?.delete(r.name)
    // Only a built list is kept up to date (a record in one is parsed already).
    const ordered = r.status === 'blocked' ? this.#blockedOrder : r.status === 'queued' ? this.#queueOrder : null
    if (delta > 0) ordered?.add(r.record)
    else ordered?.delete(r.record)
    const snap = this.#pools.get(r.pool) ?? { running: 0, tracked: 0, snapshot_at: '' }
    snap.tracked += delta
    if (r.status === 'running') {
      snap.running += delta
      this.#runningByAgent.set(r.agent, (this.#runningByAgent.get(r.agent) ?? 0) + delta)
    }
    this.#pools.set(r.pool, snap)
  }

  /** Refreshes a pool's stored snapshot; a pool with nothing tracked leaves the group, as in the Go agent. */
  #snapshot (pool: string, at: string): void {
    const snap = this.#pools.get(pool)
    if (snap === undefined) return
    snap.snapshot_at = at
    if (snap.tracked === 0) this.#pools.delete(pool)
    this.#writer.stage(CONCURRENCY_GROUP, pool, snap.tracked === 0 ? null : JSON.stringify(snap), at)
  }
}

/** The blocked summary's order: the most recently updated first, then by name (a total order). */
function newestFirst (a: Workspace, b: Workspace): number {
  if (a.updated_at !== b.updated_at) return a.updated_at > b.updated_at ? -1 : 1
  return byCodeUnits(a.name, b.name)
}

export function queueEntry (r: Workspace): QueueEntry {
  return {
    name: r.name,
    org: r.org,
    repo: r.repo,
    branch: r.branch,
    task: r.task,
    agent: r.agent,
    pool: r.pool,
    priority: r.priority,
    queued_at: r.queued_at ?? r.updated_at
  }
}
