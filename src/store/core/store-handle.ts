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
  /** Loads what a store that opened late holds into memory, before the writer attaches to it. */
  hydrateLate: (db: Database) => Promise<void>
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
  readonly #hydrateLate: (db: Database) => Promise<void>
  #db: Database | null = null
  #openError: Error | null = null
  // Once the store's contents were in memory, memory is the store plus the held writes: a reopen must not merge again.
  #hydrated = false
  #reconnecting: Promise<void> | null = null

  constructor (opts: StoreHandleOptions) {
    this.#open = opts.open
    this.#writer = opts.writer
    this.#hydrateLate = opts.hydrateLate
  }

  /** The open store, or null while none is open (degraded). */
  get db (): Database | null { return this.#db }
  get mode (): StoreMode { return this.#db === null ? 'degraded' : this.#writer.mode }
  /** Why the store is degraded, for the log and the start-up report (never for an unauthenticated answer). */
  get error (): Error | null {
    return this.#db === null ? (this.#openError ?? new Error('store not opened')) : this.#writer.error
  }

  /** The first open, at start-up; a failure leaves the service degraded (the caller decides what is fatal). */
  async start (): Promise<Database> {
    const db = await this.#opening()
    this.#db = db
    this.#hydrated = true
    this.#writer.attach(db)
    return db
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
      await dead.close({ checkpoint: false }).catch(() => {})
    }
    const fresh = await this.#opening()
    if (!this.#hydrated) {
      try {
        await this.#hydrateLate(fresh)
      } catch (err) {
        await fresh.close({ checkpoint: false }).catch(() => {})
        throw err
      }
      this.#hydrated = true
    }
    this.#db = fresh
    this.#writer.attach(fresh)
    await this.#writer.recover()
  }

  async #opening (): Promise<Database> {
    try {
      const db = await this.#open()
      this.#openError = null
      return db
    } catch (err) {
      this.#openError = err as Error
      throw err
    }
  }

  /** Stores what is staged, checkpoints and closes; throws UnstoredWritesError when something could not be stored. */
  async close (): Promise<void> {
    await this.#reconnecting?.catch(() => {})
    await this.#writer.drain().catch(() => {})
    const unstored = this.#writer.pendingCount
    await this.#db?.close({ checkpoint: unstored === 0 }).catch(() => {})
    this.#db = null
    if (unstored > 0) throw new UnstoredWritesError(unstored)
  }
}
