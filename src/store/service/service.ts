/**
 * The composition root: the one place that builds the store side's objects (each once, wired to each
 * other), registers their background work with the one lifecycle owner, and runs the start-up steps.
 * The Fastify plugin (boot/service.ts), the tests' unit layer and the CLI's server all get their objects
 * here; nothing else constructs them.
 */
import { hostname as osHostname } from 'node:os'
import { join } from 'node:path'
import { Journal } from '../buffers/journal.js'
import { Buffers, type BuffersDeps } from '../buffers/buffers.js'
import { Database } from '../core/database.js'
import { DiskReserve } from '../core/disk.js'
import type { Logger } from '../core/logger.js'
import { storeFile } from '../core/paths.js'
import { StoreHandle } from '../core/store-handle.js'
import type { FoldHooks } from '../core/fold.js'
import { Writer, type RefusedChange } from '../core/writer.js'
import { Activity } from '../events/activity.js'
import { EventLog } from '../events/events.js'
import { Followers } from '../events/subscribers.js'
import { Analytics } from '../history/analytics.js'
import { Backups } from '../history/backups.js'
import { Lane } from '../history/lane.js'
import { RUN_HISTORY, historyRecorder, runHistoryCheck } from '../history/table.js'
import type { LogHooks } from '../log/change-log.js'
import { logDir } from '../log/segments.js'
import { Pools } from '../pools/pools.js'
import { Reaper } from '../reaper/reaper.js'
import { Recovery } from '../startup/report.js'
import { openStore, runLateOpen, runStartup } from '../startup/steps.js'
import { SyncFlusher } from '../sync/sync-flusher.js'
import { SyncQueue } from '../sync/sync-queue.js'
import { ClaimWaits } from '../workspaces/claim-waits.js'
import { Queue } from '../workspaces/queue.js'
import { StatusFiles } from '../workspaces/status-files.js'
import { Workspaces } from '../workspaces/workspaces.js'
import { Lifecycle } from './lifecycle.js'
import { periodicPass } from './periodic.js'
import type { ServiceSettings } from './settings.js'

/** What the caller supplies besides the settings: the time source, the log, and test seams. */
export interface ServiceDeps {
  log: Logger
  /** The time source; tests inject one to cross leases, resets and backoffs without sleeping. */
  clock?: () => Date
  /** This host's name, for the reaper's PID checks (default: the OS's). */
  hostname?: string
  /** The sync backoff's first delay in ms (default 1000); tests shrink it so N failures do not take N seconds. */
  syncBackoffBaseMs?: number
  /** Test seam for crash tests: runs between a buffer's journal commit and the removal of its file. */
  onBufferJournalled?: BuffersDeps['onJournalled']
  /** Test seams for crash tests: inside a fold's transaction, before a folded log segment is deleted. */
  logHooks?: LogHooks & FoldHooks
}

export class Service {
  readonly settings: ServiceSettings
  readonly clock: () => Date
  readonly log: Logger
  /** The start-up report (GET /v1/recovery): each start-up step adds its part and its time. */
  readonly recovery: Recovery
  readonly writer: Writer
  /** Owns the DuckDB handle and degraded mode: writes are refused through it while the store cannot take them. */
  readonly handle: StoreHandle
  readonly events: EventLog
  /** Running per pool and finished runs, kept as events happen, for the charts. */
  readonly activity: Activity
  /** Live followers of the event log (SSE streams), bounded and ended at shutdown. */
  readonly followers: Followers
  readonly workspaces: Workspaces
  /** The status.json files, and which workspace folders exist on the volume. */
  readonly files: StatusFiles
  readonly pools: Pools
  readonly queue: Queue
  readonly claims: ClaimWaits
  readonly reaper: Reaper
  readonly sync: {
    queue: SyncQueue
    /** null without SYNC_URL: items then wait. */
    flusher: SyncFlusher | null
  }

  readonly journal: Journal
  readonly buffers: Buffers
  readonly history: {
    /** Stats, exports and backups, one at a time on side connections. */
    lane: Lane
    /** Event log pages and the charts' first read of the log: side connections, never the writer's. */
    reads: Lane
    backups: Backups
    /** The DuckDB instance of exports and backup checks, with its own memory limit. */
    analytics: Analytics
    /** Free space kept for the store: exports and backups check it. */
    reserve: DiskReserve
    /** Where exports are written before they are streamed, and the store's copies they read; emptied at start-up. */
    exportDir: string
  }

  readonly lifecycle: Lifecycle

  constructor (settings: ServiceSettings, deps: ServiceDeps) {
    const clock = deps.clock ?? (() => new Date())
    const log = deps.log
    this.settings = settings
    this.clock = clock
    this.log = log
    this.recovery = new Recovery(clock().toISOString())

    const writer = new Writer({
      dir: logDir(settings.dataDir),
      segmentBytes: settings.logSegmentBytes,
      checks: new Map([[RUN_HISTORY, runHistoryCheck]]),
      hooks: deps.logHooks
    })
    writer.on('degraded', (err) => log.error({ err }, 'store write failed: serving reads from memory, refusing writes (degraded)'))
    writer.on('refused', ({ error, ...change }: RefusedChange) => log.error({ ...change, err: error }, 'the store refused a change (a value it cannot hold): it was not stored'))
    this.writer = writer
    this.handle = new StoreHandle({
      open: () => openStore(settings, (warning) => { this.recovery.warn(warning); log.error({}, warning) }),
      writer,
      // A store that opens late (a degraded start) runs the store's start-up steps again, from the same list.
      lateOpen: (db) => runLateOpen(this, db)
    })
    const events = new EventLog(writer)
    this.events = events
    this.activity = new Activity(events, settings.eventRetention)
    this.followers = new Followers(events, settings.eventStreamsMax)
    this.files = new StatusFiles(settings.dataDir)
    const workspaces = new Workspaces({ writer, events, files: this.files, clock, log })
    this.workspaces = workspaces
    this.pools = new Pools({ workspaces, writer, events, clock })
    this.queue = new Queue({ workspaces, pools: this.pools, writer, clock })
    this.claims = new ClaimWaits({ queue: this.queue, pools: this.pools, events, clock }, settings.claimWaitersMax)
    this.reaper = new Reaper({ workspaces, writer, clock, log }, {
      hostname: deps.hostname ?? osHostname(),
      pidCheck: settings.reaperPidCheck,
      leaseS: settings.leaseS
    })

    const syncQueue = new SyncQueue({ writer, events, clock, limits: settings.limits })
    this.sync = {
      queue: syncQueue,
      flusher: settings.syncUrl === undefined
        ? null
        : new SyncFlusher({
          url: settings.syncUrl,
          token: settings.syncToken,
          maxAttempts: settings.syncMaxAttempts,
          timeoutMs: settings.syncTimeoutMs,
          backoffBaseMs: deps.syncBackoffBaseMs ?? 1000,
          queue: syncQueue,
          clock,
          log
        })
    }

    this.journal = new Journal(settings.limits.journalBytes)
    this.buffers = new Buffers({ dataDir: settings.dataDir, writer, events, journal: this.journal, clock, log, limits: settings.limits, onJournalled: deps.onBufferJournalled })
    const lane = new Lane(() => this.handle.db, writer)
    const exportDir = join(settings.dataDir, '.core', 'tmp')
    const analytics = new Analytics({ memoryLimit: settings.analyticsMemoryLimit, spillDir: join(exportDir, 'spill') })
    const reserve = new DiskReserve(settings.dataDir, settings.diskReserveBytes)
    this.history = {
      lane,
      reads: new Lane(() => this.handle.db, writer, 'event log reads'),
      backups: new Backups({ dataDir: settings.dataDir, keep: settings.backupKeep, lane, analytics, reserve, clock }),
      analytics,
      reserve,
      exportDir
    }
    // Every run that ends leaves a history row in the commit of the change that ended it.
    if (settings.historyRetentionDays > 0) workspaces.onRunEnd(historyRecorder(writer, log))

    this.lifecycle = this.#backgroundWork()
  }

  /** The open store, or null while none is open (degraded). */
  get db (): Database | null { return this.handle.db }

  /**
   * The store for SQL reads that must see every acknowledged change (stored events): it waits until the
   * log is folded. Null while none is open, or while the log cannot be folded (degraded).
   */
  async readStore (): Promise<Database | null> {
    const db = this.handle.db
    if (db === null) return null
    return await this.writer.folded().then(() => db, () => null)
  }

  /**
   * Background work, in start order; shutdown stops it in reverse (lifecycle.ts). The store is first, so it
   * closes last, after the buffers and the analytics lane that use it.
   */
  #backgroundWork (): Lifecycle {
    const s = this.settings
    const lifecycle = new Lifecycle(this.log)
    lifecycle.add({ name: 'store', close: () => this.handle.close() })
    lifecycle.add({ name: 'buffers', close: () => this.buffers.closeAll() })
    // A backup or export in progress finishes before the store closes.
    lifecycle.add({
      name: 'analytics',
      close: async () => {
        await Promise.all([this.history.lane.idle(), this.history.reads.idle()])
        await this.history.analytics.close()
      }
    })
    lifecycle.add({ name: 'sync_flusher', start: () => this.sync.flusher?.start(), stop: () => this.sync.flusher?.stop() })
    lifecycle.every('store_retry', s.storeRetryS * 1000, () => this.#retryStore())
    lifecycle.every('periodic_pass', s.reaperIntervalS * 1000, () => periodicPass(this))
    lifecycle.every('stream_keepalive', s.sseKeepaliveS * 1000, async () => this.followers.ping())
    lifecycle.add({ name: 'event_streams', stop: () => this.followers.endAll() })
    // A waiting claim would hold shutdown for up to a minute: answer it 204 first.
    lifecycle.add({ name: 'claim_waits', stop: () => this.claims.close() })
    // Leases count from when agents can reach the service: here for in-process use, and again at listen.
    lifecycle.add({ name: 'lease_clock', start: () => this.reaper.startLeaseClock() })
    return lifecycle
  }

  async #retryStore (): Promise<void> {
    if (this.handle.mode === 'ok') return
    const path = storeFile(this.settings.dataDir)
    try {
      await this.handle.reconnect()
      const mode: string = this.handle.mode
      if (mode === 'ok') this.log.info({ path }, 'store ok again: held writes stored')
    } catch (err) {
      this.log.warn({ err: (err as Error).message, path }, 'store still unavailable')
    }
  }

  /** Runs the start-up steps, then starts the background work. */
  async start (): Promise<void> {
    await runStartup(this)
    await this.lifecycle.start()
  }

  /** The service accepts requests from here on: agents can heartbeat again, so leases count from now. */
  listening (): void {
    this.reaper.startLeaseClock()
  }

  /** Before in-flight requests finish: end waits and streams, stop timers and the flusher. */
  stop (): Promise<void> {
    return this.lifecycle.stop()
  }

  /** Once no request is in flight: close buffers, let analytics finish, store what is staged and close the store. */
  close (): Promise<void> {
    return this.lifecycle.close()
  }
}
