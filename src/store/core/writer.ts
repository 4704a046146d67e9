/**
 * Group commit. Writers stage (group, key, value) entries; the writer appends every staged entry to
 * the change log in one plain INSERT, as soon as the previous commit is done, and resolves each caller
 * only when the statement holding its entry has committed. A statement costs about the same whether it
 * carries one row or fifty, so batching is what makes durable writes fast; an append to a table with
 * no index is the cheapest statement there is (an upsert into a keyed table cost 2–4× as much). The
 * log is folded into the snapshot in the background (fold.ts), never on a request's path.
 */
import { EventEmitter } from 'node:events'
import { appendStatements, type Append, type AppendRow } from './appends.js'
import type { Database } from './database.js'
import { storeUnavailable } from './errors.js'
import { foldLog } from './fold.js'
import { entryListParams, type Entry } from './rows.js'

export type StoreMode = 'ok' | 'degraded'

/** What a write's caller learns: stored durably (a commit that could not store rejects with `store_unavailable`). */
export interface CommitResult {
  mode: StoreMode
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

export class Writer extends EventEmitter {
  #db: Database | null
  #pending = new Map<string, Entry>()
  #appends: Append[] = []
  #waiters: Array<(r: CommitResult) => void> = []
  #flushing: Promise<void> | null = null
  #scheduled = false
  // Commits are numbered from the start of the process: the store opens with an empty log (it is folded at open).
  #seq = 0
  #unfolded = 0
  #foldTimer: NodeJS.Timeout | null = null
  #folding: Promise<void> | null = null
  #error: Error | null = null
  /** Statements and rows committed, and folds run, since start: the benchmark reads these to show the batching. */
  readonly stats = { commits: 0, rows: 0, folds: 0 }

  constructor (db: Database | null, error: Error | null = null) {
    super()
    this.#db = db
    this.#error = db === null ? (error ?? new Error('store not opened')) : null
  }

  get mode (): StoreMode { return this.#error === null ? 'ok' : 'degraded' }
  get error (): Error | null { return this.#error }
  get pendingCount (): number { return this.#pending.size + this.#appends.length }

  /** Stages an entry; a later stage of the same key in the same batch replaces it (one row per key per statement). */
  stage (grp: string, key: string, value: string | null, updatedAt: string): void {
    this.#pending.set(entryId(grp, key), { grp, key, value, updatedAt })
  }

  /**
   * Stages a row for an append-only table; it is inserted in the same transaction as the entries of the
   * same commit, so it is durable exactly when they are. Commits without appends stay one statement.
   * `replaces` names rows the new one corrects (appends.ts), deleted in that same transaction.
   */
  stageAppend (table: string, row: AppendRow, replaces?: AppendRow): void {
    this.#appends.push(replaces === undefined ? { table, row } : { table, row, replaces })
  }

  /**
   * Takes back entries that a failed commit left held, so they are never stored: for a change its caller
   * undoes instead (a buffer commit the client retries). False, and nothing taken, when a flush has them in
   * flight already (the store may be back): they then stay the writer's, to be stored.
   */
  withdraw (keys: ReadonlyArray<readonly [grp: string, key: string]>): boolean {
    const ids = keys.map(([grp, key]) => entryId(grp, key))
    if (!ids.every((id) => this.#pending.has(id))) return false
    for (const id of ids) this.#pending.delete(id)
    return true
  }

  /** Drops everything held, for state its owners rebuild from the store instead (a store that opened late). */
  discardHeld (): void {
    this.#pending.clear()
    this.#appends = []
  }

  /**
   * Resolves once everything staged so far is durable. When it could not be stored it rejects with
   * `store_unavailable`: nothing is acknowledged that is not durable. The staged entries are then held
   * and stored, all of a batch together, once the store is back.
   */
  async commit (): Promise<CommitResult> {
    const result = await new Promise<CommitResult>((resolve) => {
      this.#waiters.push(resolve)
      this.#schedule()
    })
    if (result.mode === 'degraded') throw storeUnavailable('the store cannot store writes right now; retry later')
    return result
  }

  #schedule (): void {
    if (this.#scheduled || this.#flushing !== null) return
    this.#scheduled = true
    // setImmediate, not a timer: it gathers what this turn of the event loop staged and adds no wait.
    setImmediate(() => {
      this.#scheduled = false
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = null
        if (this.#waiters.length > 0) this.#schedule()
      })
    })
  }

  async #flush (): Promise<void> {
    const batch = this.#pending
    const appends = this.#appends
    const waiters = this.#waiters
    this.#pending = new Map()
    this.#appends = []
    this.#waiters = []
    let mode: StoreMode = 'ok'
    if (batch.size > 0 || appends.length > 0) {
      try {
        if (this.#db === null || this.#error !== null) throw this.#error ?? new Error('store not opened')
        const entries = [...batch.values()]
        const { values, types } = entryListParams(++this.#seq, entries)
        if (appends.length === 0) {
          await this.#db.run(APPEND, values, types)
        } else {
          const inserts = appendStatements(appends)
          await this.#db.transaction(async (run) => {
            if (entries.length > 0) await run(APPEND, values, types)
            for (const s of inserts) await run(s.sql, s.values, s.types)
          })
        }
        this.stats.commits++
        this.stats.rows += entries.length + appends.length
        this.#scheduleFold(entries.length)
      } catch (err) {
        // Keep the batch: entries staged since take precedence, the rest are stored when the store is back.
        for (const [k, e] of batch) if (!this.#pending.has(k)) this.#pending.set(k, e)
        this.#appends = [...appends, ...this.#appends]
        if (this.#error === null) {
          this.#error = err as Error
          this.emit('degraded', err)
        }
        mode = 'degraded'
      }
    } else if (this.#error !== null) {
      mode = 'degraded'
    }
    for (const w of waiters) w({ mode })
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
    if (this.pendingCount > 0) void this.commit().catch(() => {})
  }

  /** Tries the store again after a failure: ok again if the held entries commit, still degraded if not. */
  async recover (): Promise<void> {
    if (this.#db === null || this.#error === null) return
    const error = this.#error
    this.#error = null
    await this.commit().catch(() => { this.#error ??= error })
  }

  /** Waits for in-flight and staged writes, then folds: used on shutdown, so the closed file holds a snapshot and an empty log. */
  async drain (): Promise<void> {
    if (this.pendingCount > 0 || this.#waiters.length > 0) await this.commit()
    while (this.#flushing !== null) await this.#flushing
    await this.#folding
    await this.fold()
  }
}
