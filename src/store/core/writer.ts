/**
 * Group commit over the change log. Writers stage (group, key, value) entries and rows for append-only
 * tables; what one operation stages is a change, sealed by `commit` or `seal`. As soon as the previous
 * flush is done the writer takes every sealed change, writes them as one record to the log and flushes it
 * (log/change-log.ts: one `write`, one `fdatasync`), and only then answers the callers: a flush costs about
 * the same for one change or a thousand, so the batch is what makes durable writes fast, and no DuckDB
 * statement is on a request's path.
 *
 * The fold (fold.ts) moves logged commits into DuckDB in the background, thousands of rows a statement,
 * and records the last folded commit in the same transaction; then the folded segments are deleted. SQL
 * readers that must see every acknowledged change wait for `folded()` first. Start-up replays the log past
 * DuckDB's folded commit (log/replay.ts), so nothing acknowledged depends on a fold having run.
 *
 * What one operation stages is a change, logged whole or not at all. Before a batch is logged each
 * change is checked against what the store can hold (`StoreChecks`: times a TIMESTAMPTZ takes, rows their
 * table's columns take); a change that fails is refused alone (its caller gets `write_refused`, the
 * `refused` event names it) and the rest of the batch is logged, so no single change can hold every write
 * back for good. Should DuckDB still refuse a logged change at fold time, the fold leaves that change out
 * alone and reports it the same way (fold.ts).
 *
 * A log that cannot be written (a full disk, an I/O error) or a fold that cannot be stored puts the
 * writer in degraded mode: commits are refused (`store_unavailable`) and their changes held, until
 * `recover` folds and logs them.
 */
import { EventEmitter } from 'node:events'
import type { Append, AppendRow } from './appends.js'
import type { Database } from './database.js'
import { storeUnavailable, writeRefused } from './errors.js'
import { foldCommits, type FoldCommit, type FoldHooks, type Refusal } from './fold.js'
import type { Entry } from './rows.js'
import { refusalOf, type StoreChecks } from './storable.js'
import { ChangeLog, type LiveSegment, type LogHooks } from '../log/change-log.js'
import { encodeChanges, type LoggedChange } from '../log/codec.js'

export type StoreMode = 'ok' | 'degraded'

/** What a write's caller learns: stored durably (a commit that could not store rejects with `store_unavailable`). */
export interface CommitResult {
  mode: StoreMode
}

/** How one change ended: logged, held for a store that cannot write now, or refused for good. */
type Outcome = 'ok' | 'degraded' | 'refused'

/** Everything one operation staged, and who waits for it. */
interface Change {
  /** What made it, for the log when the store refuses it: a workspace, a file, a route. */
  source: string | undefined
  entries: Map<string, Entry>
  appends: Append[]
  waiters: Array<(outcome: Outcome) => void>
}

/** A change the store refused (before the log, or at fold time), as the `refused` event tells it. */
export interface RefusedChange {
  /** The commit that logged it; null when it was refused before the log. */
  commit: number | null
  source: string | undefined
  /** `group/key` of each entry it staged. */
  entries: string[]
  /** The append-only tables it had rows for. */
  tables: string[]
  error: Error
}

export interface WriterOptions {
  /** The log's folder (`.core/log`). */
  dir: string
  /** A segment rolls once it holds this many bytes. */
  segmentBytes: number
  /** What the store's append-only tables can hold, checked before a change is logged. */
  checks?: StoreChecks
  /** Test seams for crash tests. */
  hooks?: LogHooks & FoldHooks
}

interface Logged extends FoldCommit {
  rows: number
}

// A fold runs this long after the first unfolded commit, or sooner once this many rows wait. It is off the
// request path, so it may be large: each fold costs a few statements whatever it carries.
const FOLD_DELAY_MS = 1000
const FOLD_ROWS = 20_000

/** An entry's identity in a batch: one row per (group, key) per statement. */
const entryId = (grp: string, key: string): string => grp + '\u0000' + key

const newChange = (): Change => ({ source: undefined, entries: new Map(), appends: [], waiters: [] })
const rowsOf = (c: Change): number => c.entries.size + c.appends.length

export class Writer extends EventEmitter {
  #db: Database | null = null
  readonly #log: ChangeLog
  readonly #hooks: FoldHooks
  readonly #checks: StoreChecks
  #logOpen = false
  /** Sealed changes, in staging order, not yet logged (waiting for the next flush, or for the store). */
  #held: Change[] = []
  /** The change being staged. */
  #open: Change = newChange()
  #flushing: Promise<void> | null = null
  #scheduled = false
  /** The number the next commit gets: commits are numbered across restarts (replay continues the count). */
  #next = 1
  /** The last commit DuckDB holds. */
  #folded = 0
  /** Logged commits DuckDB does not hold yet, oldest first. */
  #unfolded: Logged[] = []
  #unfoldedRows = 0
  #foldTimer: NodeJS.Timeout | null = null
  #folding: Promise<void> | null = null
  #error: Error | null = null
  /** Log records written, rows they carried, folds run and changes refused since start: the benchmark reads these to show the batching. */
  readonly stats = { commits: 0, rows: 0, folds: 0, refused: 0 }

  constructor (opts: WriterOptions) {
    super()
    this.#log = new ChangeLog(opts.dir, opts.segmentBytes, opts.hooks)
    this.#hooks = opts.hooks ?? {}
    this.#checks = opts.checks ?? new Map()
  }

  get mode (): StoreMode { return this.error === null ? 'ok' : 'degraded' }
  get error (): Error | null {
    return this.#error ?? (this.#db === null || !this.#logOpen ? new Error('store not opened') : null)
  }

  get pendingCount (): number { return [...this.#held, this.#open].reduce((n, c) => n + rowsOf(c), 0) }
  /** The last commit DuckDB holds, and the last one logged. */
  get position (): { folded: number, logged: number } { return { folded: this.#folded, logged: this.#next - 1 } }

  /**
   * Takes over the log after replay: `left` are the segments still in its folder, new ones numbered after
   * `lastNo`; `lastCommit` (folded into DuckDB by the replay) is the last commit so far. Folded segments go.
   */
  async openLog (left: LiveSegment[], lastNo: number, lastCommit: number): Promise<void> {
    this.#log.start(left, lastNo)
    this.#next = lastCommit + 1
    this.#folded = lastCommit
    this.#logOpen = true
    await this.#log.retire(lastCommit)
  }

  /** Stages an entry; a later stage of the same key replaces it (one row per key per statement). */
  stage (grp: string, key: string, value: string | null, updatedAt: string): void {
    this.#open.entries.set(entryId(grp, key), { grp, key, value, updatedAt })
  }

  /**
   * Stages a row for an append-only table; it is logged in the same commit as the entries of the same
   * change, so it is durable exactly when they are. `replaces` names rows the new one corrects
   * (appends.ts), deleted when the row is folded in.
   */
  stageAppend (table: string, row: AppendRow, replaces?: AppendRow): void {
    this.#open.appends.push(replaces === undefined ? { table, row } : { table, row, replaces })
  }

  /**
   * Ends the change being staged without waiting for it: what is staged next is another change, folded
   * or refused apart from this one. `source` names the change in the log.
   */
  seal (source?: string): void {
    if (rowsOf(this.#open) === 0 && this.#open.waiters.length === 0) return
    this.#open.source = source
    this.#held.push(this.#open)
    this.#open = newChange()
  }

  /**
   * Takes back entries that a failed commit left held, so they are never stored: for a change its caller
   * undoes instead (a buffer commit the client retries). False, and nothing taken, when a flush has them in
   * flight already (the store may be back): they then stay the writer's, to be stored.
   */
  withdraw (keys: ReadonlyArray<readonly [grp: string, key: string]>): boolean {
    const changes = [...this.#held, this.#open]
    const ids = keys.map(([grp, key]) => entryId(grp, key))
    if (!ids.every((id) => changes.some((c) => c.entries.has(id)))) return false
    for (const c of changes) for (const id of ids) c.entries.delete(id)
    return true
  }

  /** Drops everything held, for state its owners rebuild from the store instead (a store that opened late). */
  discardHeld (): void {
    settle([...this.#held, this.#open], 'degraded')
    this.#held = []
    this.#open = newChange()
  }

  /**
   * Ends the change being staged (`source` names it in the log) and resolves once it is durable in the
   * log, with everything staged before it. When it could not be logged it rejects with `store_unavailable`:
   * nothing is acknowledged that is not durable; the change is then held and logged once the store is back.
   * When the store could never hold it (a value its columns refuse) it rejects with `write_refused`, and
   * nothing of it is stored.
   */
  async commit (source?: string): Promise<CommitResult> {
    const outcome = await this.#commit(source)
    if (outcome === 'degraded') throw storeUnavailable('the store cannot store writes right now; retry later')
    if (outcome === 'refused') throw writeRefused('the store refused this change (a value it cannot hold); nothing of it was stored')
    return { mode: 'ok' }
  }

  #commit (source?: string): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      this.#open.waiters.push(resolve)
      this.seal(source)
      this.#schedule()
    })
  }

  #schedule (): void {
    if (this.#scheduled || this.#flushing !== null) return
    this.#scheduled = true
    // setImmediate, not a timer: it gathers what this turn of the event loop staged and adds no wait.
    setImmediate(() => {
      this.#scheduled = false
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = null
        // A change held back by a failed flush has been answered; one with waiters was committed since.
        if (this.#held.some((c) => c.waiters.length > 0)) this.#schedule()
      })
    })
  }

  async #flush (): Promise<void> {
    // What was staged without a commit goes out with this batch, as its own change.
    this.seal()
    const batch = this.#held.filter((c) => !this.#refusedBeforeLog(c))
    this.#held = []
    const changes = batch.filter((c) => rowsOf(c) > 0)
    if (changes.length === 0) {
      settle(batch, this.mode === 'ok' ? 'ok' : 'degraded')
      return
    }
    try {
      if (this.error !== null) throw this.error
      const logged: LoggedChange[] = changes.map((c) => ({ source: c.source, entries: [...c.entries.values()], appends: c.appends }))
      const commit = this.#next
      await this.#log.append(commit, encodeChanges(logged))
      this.#next = commit + 1
      const rows = changes.reduce((n, c) => n + rowsOf(c), 0)
      this.#unfolded.push({ commit, changes: logged, rows })
      this.stats.commits++
      this.stats.rows += rows
      this.#scheduleFold(rows)
    } catch (err) {
      // Keep what was not logged, in order and ahead of what was staged since; it is logged when the store is back.
      settle(batch, 'degraded')
      this.#held = [...changes, ...this.#held]
      this.#fail(err as Error)
      return
    }
    settle(batch, 'ok')
  }

  #fail (err: Error): void {
    if (this.#error !== null) return
    this.#error = err
    this.emit('degraded', err)
  }

  #scheduleFold (rows: number): void {
    this.#unfoldedRows += rows
    if (this.#unfoldedRows >= FOLD_ROWS) {
      void this.fold()
      return
    }
    if (this.#foldTimer !== null) return
    this.#foldTimer = setTimeout(() => { void this.fold() }, FOLD_DELAY_MS)
    this.#foldTimer.unref()
  }

  /** Folds what is logged into DuckDB (one fold at a time). A failed fold leaves the writer degraded; it never rejects. */
  fold (): Promise<void> {
    if (this.#foldTimer !== null) clearTimeout(this.#foldTimer)
    this.#foldTimer = null
    this.#folding ??= this.#runFold()
      .catch((err: unknown) => this.#fail(err as Error))
      .finally(() => {
        this.#folding = null
        if (this.#unfolded.length > 0 && this.#error === null) this.#scheduleFold(0)
      })
    return this.#folding
  }

  async #runFold (): Promise<void> {
    const db = this.#db
    const commits = this.#unfolded.slice()
    if (db === null || commits.length === 0) return
    const folded = await foldCommits(db, commits, (r) => this.#refuse(r), this.#hooks)
    this.#unfolded = this.#unfolded.filter((c) => c.commit > folded)
    this.#unfoldedRows = this.#unfolded.reduce((n, c) => n + c.rows, 0)
    this.#folded = Math.max(this.#folded, folded)
    this.stats.folds++
    await this.#log.retire(this.#folded)
  }

  /** Refuses `c` alone (answering its waiters) when the store could never hold it. */
  #refusedBeforeLog (c: Change): boolean {
    const entries = [...c.entries.values()]
    const why = refusalOf(this.#checks, entries, c.appends)
    if (why === null) return false
    this.#refuse({ commit: null, change: { source: c.source, entries, appends: c.appends }, error: new Error(why) })
    settle([c], 'refused')
    return true
  }

  #refuse (r: Omit<Refusal, 'commit'> & { commit: number | null }): void {
    this.stats.refused++
    this.emit('refused', refusedChange(r))
  }

  /**
   * Resolves once DuckDB holds every change acknowledged before the call: SQL readers (history, exports,
   * backups, stored events) wait for this, so no acknowledged change is missing from what they read.
   * Rejects with `store_unavailable` while the store cannot fold.
   */
  async folded (): Promise<void> {
    const target = this.#next - 1
    while (this.#folded < target) {
      if (this.error !== null) throw storeUnavailable('the store cannot fold the change log right now; retry later')
      const before = this.#folded
      // A fold already running may have started before the last commits: only a fold started here must progress.
      const joined = this.#folding !== null
      await this.fold()
      if (this.#folded === before && !joined && this.#error === null) throw storeUnavailable('the change log could not be folded; retry later')
    }
  }

  /** Starts writing to a store that opened late (or again); everything staged or logged meanwhile follows. */
  attach (db: Database): void {
    this.#db = db
    this.#error = null
    // A failure here is the writer's own degraded state; the retry loop sees it.
    if (this.#unfolded.length > 0) void this.fold()
    if (this.pendingCount > 0) void this.#commit()
  }

  /** Tries the store again after a failure: ok again once the unfolded commits fold and the held changes are logged. */
  async recover (): Promise<void> {
    if (this.#db === null || this.#error === null) return
    const error = this.#error
    this.#error = null
    await this.fold()
    if (this.#error !== null) return
    if (await this.#commit() === 'degraded') this.#error ??= error
  }

  /**
   * On shutdown: logs what is staged, folds everything and deletes the folded log, so the closed store
   * holds every change and the log folder is empty. What cannot be folded stays in the log for the next start.
   */
  async drain (): Promise<void> {
    try {
      if (this.pendingCount > 0 || this.#held.length > 0) await this.#commit()
      while (this.#flushing !== null) await this.#flushing
      await this.folded()
      await this.#log.retire(this.#folded, true)
    } finally {
      await this.#log.close()
    }
  }
}

/** A refusal as the `refused` event and the recovery report name it: its change's entries and tables. */
export function refusedChange ({ commit, change, error }: Omit<Refusal, 'commit'> & { commit: number | null }): RefusedChange {
  return {
    commit,
    source: change.source,
    entries: change.entries.map((e) => `${e.grp}/${e.key}`),
    tables: [...new Set(change.appends.map((a) => a.table))],
    error
  }
}

/** Answers every waiter of these changes and lets them go. */
function settle (changes: readonly Change[], outcome: Outcome): void {
  for (const c of changes) {
    for (const w of c.waiters) w(outcome)
    c.waiters = []
  }
}
