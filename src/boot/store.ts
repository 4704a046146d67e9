/**
 * The `state` decorator: opens the DuckDB store, wires the in-memory model to the group-commit writer,
 * keeps retrying a store that is unavailable (degraded mode, API §9), and closes cleanly.
 */
import { hostname } from 'node:os'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { Database, StoreLockedError } from '../store/core/database.js'
import { EventLog } from '../store/events/events.js'
import { mergeLateStore, readEntries } from '../store/workspaces/hydrate.js'
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
  /** Null while the store could not be opened (degraded); set once a retry opens it. */
  db: Database | null
  writer: Writer
  events: EventLog
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
  const db = await Database.open(storeFile(config.dataDir), { threads: config.dbThreads, memoryLimit: config.dbMemoryLimit })
  try {
    await migrate(db)
  } catch (err) {
    await db.close()
    throw err
  }
  return db
}

async function store (app: FastifyInstance, { config, clock }: StoreOptions): Promise<void> {
  const recovery = new Recovery(clock().toISOString())
  const file = storeFile(config.dataDir)
  let db: Database | null = null
  let openError: Error | null = null
  try {
    db = await recovery.step('store_open', () => openStore(config))
  } catch (err) {
    // A second writer is never right: refuse to start. Any other failure leaves the service degraded.
    if (err instanceof StoreLockedError) throw err
    openError = err as Error
    app.log.error({ err, path: file }, 'store unavailable: serving from memory (degraded)')
  }
  const writer = new Writer(db, openError)
  const events = new EventLog(writer)
  const workspaces = new Workspaces({ writer, events, files: new StatusFiles(config.dataDir), clock, log: app.log })
  const reaper = new Reaper({ workspaces, writer, clock, log: app.log }, { hostname: hostname(), pidCheck: config.reaperPidCheck, leaseS: config.leaseS })
  const pools = new Pools({ workspaces, writer, events, clock })
  const queue = new Queue({ workspaces, pools, writer, clock })
  const state: State = { db, writer, events, workspaces, reaper, pools, queue, clock, recovery }
  writer.on('degraded', (err) => app.log.error({ err }, 'store write failed: serving from memory (degraded)'))
  writer.on('purge-error', (err) => app.log.warn({ err }, 'tombstone purge failed'))
  app.decorate('state', state)

  /** One attempt to get out of degraded mode: open the store if it never opened, else retry the failed writes. */
  async function reconnect (): Promise<void> {
    if (state.db === null) {
      const opened = await openStore(config)
      const { registry, groups, lastEventId } = await readEntries(opened)
      events.resume(lastEventId)
      const loaded = mergeLateStore(workspaces, registry, groups)
      if (pools.config.origin === 'default') pools.hydrate(groups)
      state.db = opened
      writer.attach(opened)
      app.log.info({ path: file, loaded }, 'store reopened: what was held in memory is being stored')
    }
    await writer.recover()
    if (writer.mode === 'ok') app.log.info({ path: file }, 'store ok again')
  }

  const retry = setInterval(() => {
    if (writer.mode === 'ok') return
    reconnect().catch((err: unknown) => app.log.warn({ err: (err as Error).message, path: file }, 'store still unavailable'))
  }, config.storeRetryS * 1000)
  retry.unref()

  app.addHook('onClose', async () => {
    clearInterval(retry)
    await writer.drain()
    await state.db?.close()
  })
}

export default fp(store, { name: 'store' })
