/**
 * The one owner of the DuckDB handle and of degraded mode (API §9). It opens the store, says whether
 * writes can be stored, refuses writes while they cannot, and gets the store back: it retries the held
 * writes and, when that fails, drops the instance and opens a fresh one, because DuckDB invalidates an
 * instance after a failed write or checkpoint (a full disk) and never lets it write again.
 */
import type { Database } from './database.js'
import { storeUnavailable } from './errors.js'
import type { StoreMode, Writer } from './writer.js'

export interface StoreHandleOptions {
  /** Opens (and migrates) the store file; throws when it cannot. */
  open: () => Promise<Database>
  writer: Writer
  /**
   * Runs the start-up steps again for a store that opened late (after a degraded start), before it takes
   * client writes; the steps attach the writer to it.
   */
  lateOpen: (db: Database) => Promise<void>
}

/** Raised on close when writes are still held in memory: the process must not exit 0 with them unstored. */
export class UnstoredWritesError extends Error {
  readonly count: number

  constructor (count: number) {
    super(`${count} staged entries could not be stored before closing; they are lost`)
    this.count = count
  }
}

export class StoreHandle {
  readonly #open: () => Promise<Database>
  readonly #writer: Writer
  readonly #lateOpen: (db: Database) => Promise<void>
  #db: Database | null = null
  // The instance opened last, served or not yet (start-up, a late open): the one close() must release.
  #instance: Database | null = null
  #openError: Error | null = null
  // Once the store's contents were in memory, memory is the store plus the held writes: a reopen must not rebuild again.
  #served = false
  #reconnecting: Promise<void> | null = null

  constructor (opts: StoreHandleOptions) {
    this.#open = opts.open
    this.#writer = opts.writer
    this.#lateOpen = opts.lateOpen
  }

  /** The store that takes writes, or null while none does (degraded, or still starting). */
  get db (): Database | null { return this.#db }
  get mode (): StoreMode { return this.#db === null ? 'degraded' : this.#writer.mode }
  /** Why the store is degraded, for the log and the start-up report (never for an unauthenticated answer). */
  get error (): Error | null {
    return this.#db === null ? (this.#openError ?? new Error('store not opened')) : this.#writer.error
  }

  /** Opens the store file (start-up's first step); a failure leaves the service degraded (the caller decides what is fatal). */
  async open (): Promise<Database> {
    try {
      const db = await this.#open()
      this.#openError = null
      this.#instance = db
      return db
    } catch (err) {
      this.#openError = err as Error
      throw err
    }
  }

  /**
   * The store opened but cannot be used (its log could not be replayed): released, and the service starts
   * degraded with `err` as the reason, as if it had not opened. The retry loop opens it again.
   */
  async failOpen (err: Error): Promise<void> {
    this.#openError = err
    const db = this.#instance
    this.#instance = null
    await db?.close({ checkpoint: false }).catch(() => {})
  }

  /** The writer stores into `db` from now on: the service's own start-up writes first, and whatever was held. */
  attach (db: Database): void {
    this.#writer.attach(db)
  }

  /** `db`, its contents in memory, takes client writes from now on. */
  serve (db: Database): void {
    this.#db = db
    this.#served = true
  }

  /** Refuses a write before it touches memory while the store cannot store it. */
  assertWritable (): void {
    if (this.mode === 'degraded') throw storeUnavailable('the store is unavailable (full or read-only volume, or an unreadable file); nothing was changed, retry later')
  }

  /**
   * For the service's own writes (start-up steps, periodic passes), which no client waits for: commits,
   * or while the store is unavailable leaves them held for the retry loop. True when stored.
   */
  async commitOrHold (): Promise<boolean> {
    return await this.#writer.commit().then(() => true, () => false)
  }

  /** One attempt to leave degraded mode; attempts never overlap. */
  reconnect (): Promise<void> {
    this.#reconnecting ??= this.#reconnect().finally(() => { this.#reconnecting = null })
    return this.#reconnecting
  }

  async #reconnect (): Promise<void> {
    if (this.#db !== null) {
      await this.#writer.recover()
      if (this.#writer.mode === 'ok') return
      const dead = this.#db
      this.#db = null
      this.#instance = null
      await dead.close({ checkpoint: false }).catch(() => {})
    }
    const fresh = await this.open()
    try {
      if (this.#served) this.attach(fresh)
      else await this.#lateOpen(fresh)
    } catch (err) {
      this.#instance = null
      await fresh.close({ checkpoint: false }).catch(() => {})
      throw err
    }
    this.serve(fresh)
    await this.#writer.recover()
  }

  /** Stores what is staged, checkpoints and closes; throws UnstoredWritesError when something could not be stored. */
  async close (): Promise<void> {
    await this.#reconnecting?.catch(() => {})
    await this.#writer.drain().catch(() => {})
    const unstored = this.#writer.pendingCount
    await this.#instance?.close({ checkpoint: unstored === 0 }).catch(() => {})
    this.#db = null
    this.#instance = null
    if (unstored > 0) throw new UnstoredWritesError(unstored)
  }
}
