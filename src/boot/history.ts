/**
 * The `history` decorator: records every ended run in the run history (in the commit of the change that
 * ended it), keeps the history within its retention, and gives the routes the analytics lane, the
 * export folder and the backups.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { DiskReserve } from '../store/core/disk.js'
import { Analytics } from '../store/history/analytics.js'
import { Backups } from '../store/history/backups.js'
import { Lane } from '../store/history/lane.js'
import { pruneHistory } from '../store/history/retention.js'
import { RUN_HISTORY } from '../store/history/table.js'

export interface History {
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

declare module 'fastify' {
  interface FastifyInstance {
    history: History
  }
}

async function history (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const { workspaces, writer, clock } = app.state
  const lane = new Lane(() => app.state.db, writer)
  const exportDir = join(config.dataDir, '.core', 'tmp')
  const analytics = new Analytics({ memoryLimit: config.analyticsMemoryLimit, spillDir: join(exportDir, 'spill') })
  const reserve = new DiskReserve(config.dataDir, config.diskReserveBytes)
  const backups = new Backups({ dataDir: config.dataDir, keep: config.backupKeep, lane, analytics, reserve, clock })
  const reads = new Lane(() => app.state.db, writer, 'event log reads')
  app.decorate('history', { lane, reads, backups, analytics, reserve, exportDir })

  if (config.historyRetentionDays > 0) {
    workspaces.onRunEnd((end) => writer.stageAppend(RUN_HISTORY, { ...end }))
  }

  /** Retention, on the writer's connection: deletes are rare and small once the history is within bounds. */
  async function prune (): Promise<void> {
    const db = app.state.db
    if (db === null || writer.mode !== 'ok' || config.historyRetentionDays === 0) return
    const deleted = await pruneHistory(db, clock(), config.historyRetentionDays, config.historyMaxRows)
    if (deleted > 0) app.log.info({ deleted }, 'run history trimmed')
  }

  let interval: NodeJS.Timeout | null = null
  app.addHook('onReady', async () => {
    try {
      // Leftovers of a process that died mid-export or mid-backup.
      await rm(exportDir, { recursive: true, force: true })
      await mkdir(exportDir, { recursive: true })
      await backups.clean()
      await prune()
    } catch (err) {
      // A volume we cannot tidy is worth a warning; the exports or backups that need it will say why they fail.
      app.log.warn({ err }, 'could not tidy export and backup leftovers')
    }
    interval = setInterval(() => {
      prune().catch((err: unknown) => app.log.error({ err }, 'run history retention failed'))
    }, config.reaperIntervalS * 1000)
    interval.unref()
  })

  app.addHook('preClose', async () => {
    if (interval !== null) clearInterval(interval)
  })
  // Registered after the store, so this runs before the store closes: a backup or export finishes first.
  app.addHook('onClose', async () => {
    await Promise.all([lane.idle(), reads.idle()])
    await analytics.close()
  })
}

export default fp(history, { name: 'history', dependencies: ['store'] })
