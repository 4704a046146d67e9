/**
 * Start-up in `onReady`, before the server listens (API §8): hydrate from the store, then from the
 * status.json files on the volume, then reap ghosts. Afterwards a periodic pass every REAPER_INTERVAL_S reaps,
 * drops expired backoffs and trims the stored event log to EVENT_RETENTION events.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { readAgentsFile } from '../store/pools/agents-config.js'
import type { DomainError } from '../store/core/errors.js'
import { pruneEvents } from '../store/events/event-store.js'
import { applyStatusFiles, hydrateWorkspaces, readEntries } from '../store/workspaces/hydrate.js'
import { scanStatusFiles } from '../store/workspaces/status-scan.js'

async function lifecycle (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const { events, workspaces, writer, recovery, reaper, pools, clock } = app.state
  const report = recovery.report
  let interval: NodeJS.Timeout | null = null

  /** Keeps the newest EVENT_RETENTION events; nothing to trim while the store is unavailable. */
  async function pruneEventLog (): Promise<void> {
    const db = app.state.db
    if (db === null || writer.mode !== 'ok') return
    const pruned = await pruneEvents(db, config.eventRetention)
    if (pruned > 0) app.log.debug({ pruned, kept: config.eventRetention }, 'event log trimmed')
  }

  app.addHook('onReady', async () => {
    const db = app.state.db
    if (db !== null) {
      await recovery.step('hydrate_store', async () => {
        const { registry, groups, lastEventId } = await readEntries(db)
        events.resume(lastEventId)
        const counts = hydrateWorkspaces(workspaces, registry, groups)
        pools.hydrate(groups)
        report.hydrated.from_store = counts.registry
        report.hydrated.from_queue = counts.queueOnly
      })
    }
    await recovery.step('hydrate_files', async () => {
      const { records, invalid } = await scanStatusFiles(config.dataDir, clock().toISOString())
      report.hydrated.files_read = records.length
      report.hydrated.from_files = applyStatusFiles(workspaces, records)
      report.hydrated.files_invalid = invalid
      for (const f of invalid) app.log.warn({ file: f.path, error: f.error }, 'skipped an unusable status.json')
    })
    await recovery.step('config', async () => {
      try {
        const agents = await readAgentsFile(config.dataDir)
        if (agents !== undefined) pools.applyConfig(agents, 'file', 'agents.yaml')
      } catch (err) {
        // Keep the last good configuration (from the store, else none) and say so on /readyz.
        pools.config.error = (err as Error).message
        app.log.error({ error: pools.config.error, errors: (err as DomainError).errors }, 'agents.yaml refused: keeping the last good configuration')
      }
    })
    pools.sweep(clock())
    report.reaped = await recovery.step('reap', () => reaper.run())
    await recovery.step('commit', () => writer.commit())

    interval = setInterval(() => {
      const tidy = pools.sweep(clock()) ? writer.commit() : Promise.resolve()
      Promise.all([tidy, reaper.run(), pruneEventLog()]).catch((err: unknown) => app.log.error({ err }, 'periodic pass failed'))
    }, config.reaperIntervalS * 1000)
    interval.unref()
  })

  app.addHook('preClose', async () => {
    if (interval !== null) clearInterval(interval)
  })
}

export default fp(lifecycle, { name: 'lifecycle', dependencies: ['store'] })

/**
 * Closes the start-up report once every start-up step has run: registered after every plugin that adds
 * an onReady step (buffers, sync), so its hook runs last.
 */
async function startupDone (app: FastifyInstance): Promise<void> {
  const { writer, recovery, clock } = app.state
  app.addHook('onReady', async () => {
    const report = recovery.report
    report.store = writer.error === null ? { mode: 'ok' } : { mode: 'degraded', error: writer.error.message }
    report.finished_at = clock().toISOString()
    app.log.info({ hydrated: { ...report.hydrated, files_invalid: report.hydrated.files_invalid.length }, reaped: report.reaped.length, orphans: report.orphans.outcomes.length, timings_ms: report.timings_ms }, 'start-up recovery done')
  })
}

export const startupReport = fp(startupDone, { name: 'startup-report', dependencies: ['lifecycle', 'buffers', 'sync'] })
