/**
 * The `state` decorator: opens the DuckDB store, wires the in-memory model to the group-commit writer,
 * keeps retrying a store that is unavailable (degraded mode, API §9), and closes cleanly.
 */
import { hostname } from 'node:os'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { Database, StoreLockedError } from '../store/core/database.js'
import { foldLog } from '../store/core/fold.js'
import { StoreHandle } from '../store/core/store-handle.js'
import { Activity } from '../store/events/activity.js'
import { EventLog } from '../store/events/events.js'
import { readEntries, rebuildFromLateStore } from '../store/workspaces/hydrate.js'
import { hydrateFiles } from './lifecycle.js'
import { migrate } from '../store/core/migrations.js'
import { storeFile } from '../store/core/paths.js'
import { Pools } from '../store/pools/pools.js'
import { Queue } from '../store/workspaces/queue.js'
import { Reaper } from '../store/reaper/reaper.js'
import { Recovery } from '../store/startup/report.js'
import { StatusFiles } from '../store/workspaces/status-files.js'
import { Workspaces } from '../store/workspaces/workspaces.js'
import { Writer } from '../store/core/writer.js'

export interface State {
  /** Null while no store is open (degraded); set once a retry opens it. */
  readonly db: Database | null
  /** Owns the store handle and degraded mode: writes are refused through it while the store cannot take them. */
  handle: StoreHandle
  writer: Writer
  events: EventLog
  /** Running per pool and finished runs, kept as events happen, for the charts. */
  activity: Activity
  workspaces: Workspaces
  reaper: Reaper
  pools: Pools
  queue: Queue
  clock: () => Date
  /** The start-up report (GET /v1/recovery); each step of startup.ts adds its part. */
  recovery: Recovery
}

declare module 'fastify' {
  interface FastifyInstance {
    state: State
  }
}

export interface StoreOptions {
  config: Config
  clock: () => Date
}

async function openStore (config: Config): Promise<Database> {
  const db = await Database.open(storeFile(config.dataDir), {
    threads: config.dbThreads,
    memoryLimit: config.dbMemoryLimit,
    // DuckDB's allocator keeps freed pages for reuse unless a background thread returns them: after
    // start-up read 100,000 workspaces that was ~150 MB of resident memory held for nothing.
    settings: { allocator_background_threads: 'true' }
  })
  try {
    await migrate(db)
    // What a killed process committed but never folded: the writer numbers its commits from an empty log.
    await foldLog(db)
  } catch (err) {
    await db.close()
    throw err
  }
  return db
}

async function store (app: FastifyInstance, { config, clock }: StoreOptions): Promise<void> {
  const recovery = new Recovery(clock().toISOString())
  const file = storeFile(config.dataDir)
  const writer = new Writer(null)
  const events = new EventLog(writer)
  const activity = new Activity(events, config.eventRetention)
  const workspaces = new Workspaces({ writer, events, files: new StatusFiles(config.dataDir), clock, log: app.log })
  const reaper = new Reaper({ workspaces, writer, clock, log: app.log }, { hostname: hostname(), pidCheck: config.reaperPidCheck, leaseS: config.leaseS })
  const pools = new Pools({ workspaces, writer, events, clock })
  const queue = new Queue({ workspaces, pools, writer, clock })
  const handle = new StoreHandle({
    open: () => openStore(config),
    writer,
    // A store that opens late (a degraded start): memory is rebuilt as a start with the store would have built it.
    hydrateLate: async (db) => {
      const { registry, groups, lastEventId } = await readEntries(db)
      events.resume(lastEventId)
      const loaded = rebuildFromLateStore(workspaces, writer, registry, groups)
      recovery.report.hydrated.from_store = loaded
      const fromFiles = await hydrateFiles(state, config.dataDir, app.log)
      if (pools.config.origin === 'default') pools.hydrate(groups)
      app.log.info({ path: file, loaded, from_files: fromFiles }, 'store opened late: its records and deletions, then the status.json files judged against them')
    }
  })
  try {
    await recovery.step('store_open', () => handle.start())
  } catch (err) {
    // A second writer is never right: refuse to start. Any other failure leaves the service degraded.
    if (err instanceof StoreLockedError) throw err
    app.log.error({ err, path: file }, 'store unavailable: serving reads from memory, refusing writes (degraded)')
  }
  const state: State = { get db () { return handle.db }, handle, writer, events, activity, workspaces, reaper, pools, queue, clock, recovery }
  writer.on('degraded', (err) => app.log.error({ err }, 'store write failed: serving reads from memory, refusing writes (degraded)'))
  writer.on('fold-error', (err) => app.log.warn({ err }, 'folding the change log failed; the next fold retries'))
  app.decorate('state', state)

  const retry = setInterval(() => {
    if (handle.mode === 'ok') return
    handle.reconnect().then(
      () => { if (handle.mode === 'ok') app.log.info({ path: file }, 'store ok again: held writes stored') },
      (err: unknown) => app.log.warn({ err: (err as Error).message, path: file }, 'store still unavailable'))
  }, config.storeRetryS * 1000)
  retry.unref()

  app.addHook('onClose', async () => {
    clearInterval(retry)
    await handle.close()
  })
}

export default fp(store, { name: 'store' })
