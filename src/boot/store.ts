/** The `state` decorator: opens the DuckDB store, wires the in-memory model to the writer, hydrates on ready, closes cleanly. */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { Database, StoreLockedError } from '../store/database.js'
import { EventLog } from '../store/events.js'
import { Recovery } from '../store/recovery.js'
import { migrate } from '../store/migrations.js'
import { storeFile } from '../store/paths.js'
import { StatusFiles } from '../store/status-files.js'
import { Workspaces } from '../store/workspaces.js'
import { Writer } from '../store/writer.js'

export interface State {
  db: Database | null
  writer: Writer
  events: EventLog
  workspaces: Workspaces
  clock: () => Date
  /** The start-up report (GET /v1/recovery); each start-up step adds its part in an onReady hook. */
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
  let db: Database | null = null
  let openError: Error | null = null
  try {
    db = await recovery.step('store_open', () => openStore(config))
  } catch (err) {
    // A second writer is never right: refuse to start. Any other failure leaves the service degraded.
    if (err instanceof StoreLockedError) throw err
    openError = err as Error
    app.log.error({ err, path: storeFile(config.dataDir) }, 'store unavailable: serving from memory (degraded)')
  }
  const writer = new Writer(db, openError)
  const events = new EventLog(writer)
  const workspaces = new Workspaces({ writer, events, files: new StatusFiles(config.dataDir), clock, log: app.log })
  writer.on('degraded', (err) => app.log.error({ err }, 'store write failed: serving from memory (degraded)'))
  writer.on('purge-error', (err) => app.log.warn({ err }, 'tombstone purge failed'))
  app.decorate('state', { db, writer, events, workspaces, clock, recovery })

  app.addHook('onClose', async () => {
    await writer.drain()
    await db?.close()
  })
}

export default fp(store, { name: 'store' })
