/**
 * Group commit. Writers stage (group, key, value) entries; the writer stores every staged entry in
 * one set-based upsert, as soon as the previous commit is done, and resolves each caller only when
 * the statement holding its entry has committed. A DuckDB statement costs the same ~1.5 ms whether
 * it carries one row or fifty, so batching is what makes durable writes fast (reference/perf.md).
 */
import { EventEmitter } from 'node:events'
import type { Database } from './database.js'
import { entryListParams, type Entry } from './rows.js'

export type StoreMode = 'ok' | 'degraded'

/** What a write's caller learns: stored durably, or held in memory only while the store is unavailable. */
export interface CommitResult {
  mode: StoreMode
}

const UPSERT = `INSERT INTO entries (grp, key, value, updated_at)
  SELECT unnest($1), unnest($2), unnest($3), unnest($4)::TIMESTAMPTZ
  ON CONFLICT (grp, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

// Tombstones are purged in the background rather than in the commit, so a commit stays one statement.
const PURGE_DELAY_MS = 1000

export class Writer extends EventEmitter {
  #db: Database | null
  #pending = new Map<string, Entry>()
  #waiters: Array<(r: CommitResult) => void> = []
  #flushing: Promise<void> | null = null
  #scheduled = false
  #tombstones = false
  #purgeTimer: NodeJS.Timeout | null = null
  #error: Error | null = null
  /** Statements and rows committed since start: the benchmark reads these to show the batching. */
  readonly stats = { commits: 0, rows: 0 }

  constructor (db: Database | null, error: Error | null = null) {
    super()
    this.#db = db
    this.#error = db === null ? (error ?? new Error('store not opened')) : null
  }

  get mode (): StoreMode { return this.#error === null ? 'ok' : 'degraded' }
  get error (): Error | null { return this.#error }
  get pendingCount (): number { return this.#pending.size }

  /** Stages an entry; a later stage of the same key in the same batch replaces it (one row per key per statement). */
  stage (grp: string, key: string, value: string | null, updatedAt: string): void {
    this.#pending.set(grp + '\u0000' + key, { grp, key, value, updatedAt })
  }

  /** Resolves once everything staged so far is durable (or held in memory, when degraded). */
  commit (): Promise<CommitResult> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve)
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
        if (this.#waiters.length > 0) this.#schedule()
      })
    })
  }

  async #flush (): Promise<void> {
    const batch = this.#pending
    const waiters = this.#waiters
    this.#pending = new Map()
    this.#waiters = []
    let mode: StoreMode = 'ok'
    if (batch.size > 0) {
      try {
        if (this.#db === null || this.#error !== null) throw this.#error ?? new Error('store not opened')
        const entries = [...batch.values()]
        const { values, types } = entryListParams(entries)
        await this.#db.run(UPSERT, values, types)
        this.stats.commits++
        this.stats.rows += entries.length
        if (entries.some((e) => e.value === null)) this.#schedulePurge()
      } catch (err) {
        // Keep the batch: entries staged since take precedence, the rest are stored when the store is back.
        for (const [k, e] of batch) if (!this.#pending.has(k)) this.#pending.set(k, e)
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

  #schedulePurge (): void {
    this.#tombstones = true
    if (this.#purgeTimer !== null) return
    this.#purgeTimer = setTimeout(() => {
      this.#purgeTimer = null
      void this.purgeTombstones().catch((err) => this.emit('purge-error', err))
    }, PURGE_DELAY_MS)
    this.#purgeTimer.unref()
  }

  /** Starts writing to a store that opened late; everything staged meanwhile goes out in the next commit. */
  attach (db: Database): void {
    this.#db = db
    this.#error = null
    if (this.#pending.size > 0) void this.commit()
  }

  /** Tries the store again after a failure: ok again if the held entries commit, still degraded if not. */
  async recover (): Promise<void> {
    if (this.#db === null || this.#error === null) return
    const error = this.#error
    this.#error = null
    const { mode } = await this.commit()
    if (mode === 'degraded' && this.#error === null) this.#error = error
  }

  /** Deletes tombstoned rows so emptied groups leave nothing behind. */
  async purgeTombstones (): Promise<void> {
    if (!this.#tombstones || this.#db === null || this.#error !== null) return
    this.#tombstones = false
    await this.#db.run('DELETE FROM entries WHERE value IS NULL')
  }

  /** Waits for in-flight and staged writes, then purges: used on shutdown before the checkpoint. */
  async drain (): Promise<void> {
    if (this.#pending.size > 0 || this.#waiters.length > 0) await this.commit()
    while (this.#flushing !== null) await this.#flushing
    if (this.#purgeTimer !== null) clearTimeout(this.#purgeTimer)
    this.#purgeTimer = null
    await this.purgeTombstones()
  }
}
