/**
 * Group commit. Writers stage (group, key, value) entries; the writer appends every staged entry to
 * the change log in one plain INSERT, as soon as the previous commit is done, and resolves each caller
 * only when the statement holding its entry has committed. A statement costs about the same whether it
 * carries one row or fifty, so batching is what makes durable writes fast; an append to a table with
 * no index is the cheapest statement there is (an upsert into a keyed table cost 2–4× as much). The
 * log is folded into the snapshot in the background (fold.ts), never on a request's path.
 *
 * What one operation stages is a change: everything staged since the previous change was sealed (by
 * `commit` or `seal`), stored whole or not at all. A batch carries many changes; when the store refuses
 * a batch for a value it cannot hold (a conversion or constraint error, as opposed to a store that
 * cannot write at all), the writer finds the change that carries it by storing the batch in halves,
 * refuses that change alone (its waiters learn it, the `refused` event names it) and stores the rest,
 * so no single change can hold every write back for good.
 */
import { EventEmitter } from 'node:events'
import { appendStatements, type Append, type AppendRow } from './appends.js'
import { isRefusedValue, type Database } from './database.js'
import { storeUnavailable, writeRefused } from './errors.js'
import { foldLog } from './fold.js'
import { entryListParams, type Entry } from './rows.js'

export type StoreMode = 'ok' | 'degraded'

/** What a write's caller learns: stored durably (a commit that could not store rejects with `store_unavailable`). */
export interface CommitResult {
  mode: StoreMode
}

/** How one change ended: stored, held for a store that cannot write now, or refused by the store for good. */
type Outcome = 'ok' | 'degraded' | 'refused'

/** Everything one operation staged, and who waits for it. */
interface Change {
  /** What made it, for the log when the store refuses it: a workspace, a file, a route. */
  source: string | undefined
  entries: Map<string, Entry>
  appends: Append[]
  waiters: Array<(outcome: Outcome) => void>
}

/** A change the store refused, as the `refused` event tells it. */
export interface RefusedChange {
  source: string | undefined
  /** `group/key` of each entry it staged. */
  entries: string[]
  /** The append-only tables it had rows for. */
  tables: string[]
  error: Error
}

// $1 numbers the commit: a commit holds each key once, so (seq, key) orders every version of a key.
const APPEND = `INSERT INTO entry_log (seq, grp, key, value, updated_at)
  SELECT $1, unnest($2), unnest($3), unnest($4), unnest($5)::TIMESTAMPTZ`

// A fold runs this long after the first unfolded commit, or sooner once this many rows wait: small
// folds keep each one short, since it shares the one connection with the commits.
const FOLD_DELAY_MS = 1000
const FOLD_ROWS = 4000

/** An entry's identity in a batch: one row per (group, key) per statement. */
const entryId = (grp: string, key: string): string => grp + '\u0000' + key

const newChange = (): Change => ({ source: undefined, entries: new Map(), appends: [], waiters: [] })
const rowsOf = (c: Change): number => c.entries.size + c.appends.length

export class Writer extends EventEmitter {
  #db: Database | null
  /** Sealed changes, in staging order, not yet stored (waiting for the next flush, or for the store). */
  #held: Change[] = []
  /** The change being staged. */
  #open: Change = newChange()
  #flushing: Promise<void> | null = null
  #scheduled = false
  // Commits are numbered from the start of the process: the store opens with an empty log (it is folded at open).
  #seq = 0
  #unfolded = 0
  #foldTimer: NodeJS.Timeout | null = null
  #folding: Promise<void> | null = null
  #error: Error | null = null
  /** Statements and rows committed, and folds run, since start: the benchmark reads these to show the batching. */
  readonly stats = { commits: 0, rows: 0, folds: 0, refused: 0 }

  constructor (db: Database | null, error: Error | null = null) {
    super()
    this.#db = db
    this.#error = db === null ? (error ?? new Error('store not opened')) : null
  }

  get mode (): StoreMode { return this.#error === null ? 'ok' : 'degraded' }
  get error (): Error | null { return this.#error }
  get pendingCount (): number { return [...this.#held, this.#open].reduce((n, c) => n + rowsOf(c), 0) }

  /** Stages an entry; a later stage of the same key replaces it (one row per key per statement). */
  stage (grp: string, key: string, value: string | null, updatedAt: string): void {
    this.#open.entries.set(entryId(grp, key), { grp, key, value, updatedAt })
  }

  /**
   * Stages a row for an append-only table; it is inserted in the same transaction as the entries of the
   * same commit, so it is durable exactly when they are. Commits without appends stay one statement.
   * `replaces` names rows the new one corrects (appends.ts), deleted in that same transaction.
   */
  stageAppend (table: string, row: AppendRow, replaces?: AppendRow): void {
    this.#open.appends.push(replaces === undefined ? { table, row } : { table, row, replaces })
  }

  /**
   * Ends the change being staged without waiting for it: what is staged next is another change, stored
   * or refused apart from this one. For the service's own work that stages for many subjects before one
   * commit (the status.json files at start-up). `source` names the change in the log.
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
   * Ends the change being staged (everything staged since the last one; `source` names it in the log)
   * and resolves once it is durable, with everything staged before it. When it could not be stored it
   * rejects with `store_unavailable`: nothing is acknowledged that is not durable; the change is then held
   * and stored once the store is back. When the store refuses it for a value it cannot hold, it rejects
   * with `write_refused`, and it is never stored.
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
    const batch = this.#held
    this.#held = []
    if (!batch.some((c) => rowsOf(c) > 0)) {
      settle(batch, this.#error === null ? 'ok' : 'degraded')
      return
    }
    const unsettled = new Set(batch)
    try {
      if (this.#db === null || this.#error !== null) throw this.#error ?? new Error('store not opened')
      await this.#store(this.#db, batch, unsettled)
    } catch (err) {
      // Keep what was not stored, in order and ahead of what was staged since; it is stored when the store is back.
      const held = batch.filter((c) => unsettled.has(c))
      settle(held, 'degraded')
      this.#held = [...held.filter((c) => rowsOf(c) > 0), ...this.#held]
      if (this.#error === null) {
        this.#error = err as Error
        this.emit('degraded', err)
      }
    }
  }

  /**
   * Stores `changes` in one commit; when the store refuses a value, in halves, down to the one change
   * that carries it, which is refused. A store failure (anything but a refused value) is thrown: the
   * changes still in `unsettled` are then held.
   */
  async #store (db: Database, changes: Change[], unsettled: Set<Change>): Promise<void> {
    try {
      await this.#write(db, changes)
    } catch (err) {
      if (!isRefusedValue(err)) throw err
      const carrying = changes.filter((c) => rowsOf(c) > 0)
      if (carrying.length === 1) {
        this.#refuse(carrying[0] as Change, err as Error)
        settle(changes.filter((c) => c !== carrying[0]), 'ok')
        for (const c of changes) unsettled.delete(c)
        return
      }
      const half = Math.ceil(changes.length / 2)
      await this.#store(db, changes.slice(0, half), unsettled)
      await this.#store(db, changes.slice(half), unsettled)
      return
    }
    settle(changes, 'ok')
    for (const c of changes) unsettled.delete(c)
  }

  /** One statement (one transaction with appends) holding `changes`; a key staged by several keeps the latest. */
  async #write (db: Database, changes: Change[]): Promise<void> {
    const latest = new Map<string, Entry>()
    for (const c of changes) for (const [id, e] of c.entries) latest.set(id, e)
    const entries = [...latest.values()]
    const appends = changes.flatMap((c) => c.appends)
    if (entries.length === 0 && appends.length === 0) return
    const { values, types } = entryListParams(++this.#seq, entries)
    if (appends.length === 0) {
      await db.run(APPEND, values, types)
    } else {
      const inserts = appendStatements(appends)
      await db.transaction(async (run) => {
        if (entries.length > 0) await run(APPEND, values, types)
        for (const s of inserts) await run(s.sql, s.values, s.types)
      })
    }
    this.stats.commits++
    this.stats.rows += entries.length + appends.length
    this.#scheduleFold(entries.length)
  }

  #refuse (change: Change, error: Error): void {
    this.stats.refused++
    const refused: RefusedChange = {
      source: change.source,
      entries: [...change.entries.values()].map((e) => `${e.grp}/${e.key}`),
      tables: [...new Set(change.appends.map((a) => a.table))],
      error
    }
    this.emit('refused', refused)
    settle([change], 'refused')
  }

  #scheduleFold (rows: number): void {
    this.#unfolded += rows
    if (this.#unfolded >= FOLD_ROWS) {
      void this.fold()
      return
    }
    if (this.#foldTimer !== null) return
    this.#foldTimer = setTimeout(() => { void this.fold() }, FOLD_DELAY_MS)
    this.#foldTimer.unref()
  }

  /** Folds the log into the snapshot (one at a time); a failed fold is reported and retried with the next one. */
  fold (): Promise<void> {
    if (this.#foldTimer !== null) clearTimeout(this.#foldTimer)
    this.#foldTimer = null
    if (this.#folding !== null) return this.#folding
    const db = this.#db
    if (db === null || this.#error !== null || this.#unfolded === 0) return Promise.resolve()
    this.#unfolded = 0
    this.#folding = foldLog(db)
      .then(() => { this.stats.folds++ })
      .catch((err: unknown) => { this.#unfolded++; this.emit('fold-error', err) })
      .finally(() => { this.#folding = null })
    return this.#folding
  }

  /** Starts writing to a store that opened late; everything staged meanwhile goes out in the next commit. */
  attach (db: Database): void {
    this.#db = db
    this.#error = null
    // A failure here is the writer's own degraded state; the retry loop sees it.
    if (this.pendingCount > 0) void this.#commit()
  }

  /** Tries the store again after a failure: ok again if the held changes commit (or are refused), still degraded if not. */
  async recover (): Promise<void> {
    if (this.#db === null || this.#error === null) return
    const error = this.#error
    this.#error = null
    if (await this.#commit() === 'degraded') this.#error ??= error
  }

  /** Waits for in-flight and staged writes, then folds: used on shutdown, so the closed file holds a snapshot and an empty log. */
  async drain (): Promise<void> {
    if (this.pendingCount > 0 || this.#held.length > 0) await this.#commit()
    while (this.#flushing !== null) await this.#flushing
    await this.#folding
    await this.fold()
  }
}

/** Answers every waiter of these changes and lets them go. */
function settle (changes: readonly Change[], outcome: Outcome): void {
  for (const c of changes) {
    for (const w of c.waiters) w(outcome)
    c.waiters = []
  }
}
