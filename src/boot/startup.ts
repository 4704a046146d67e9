/**
 * The start-up sequence (API §8), read top to bottom: each step is timed into the report behind
 * GET /v1/recovery under the name it is given here. Opening and migrating the store (`store_open`) come first,
 * in the store plugin, because every decorator is built on its handle; the rest runs here, once, before
 * the server listens. The steps that need the store are skipped while it is unavailable (degraded start).
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { recoverBuffers } from './buffers.js'
import { hydrateFiles, hydrateStore, loadConfig, startPeriodicPass } from './lifecycle.js'
import { readJournal } from '../store/buffers/journal.js'
import { stateDir } from '../store/buffers/paths.js'
import { SYNC_GROUPS } from '../store/sync/sync-queue.js'
import { readGroups } from '../store/workspaces/hydrate.js'

async function startup (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const { state, log } = app
  const { writer, recovery, reaper, pools, clock } = state
  const report = recovery.report
  let periodic: NodeJS.Timeout | null = null

  app.addHook('onReady', async () => {
    const db = state.db
    if (db !== null) await recovery.step('hydrate_store', () => hydrateStore(state, db))
    await recovery.step('hydrate_files', () => hydrateFiles(state, config.dataDir, log))
    await recovery.step('config', () => loadConfig(state, config.dataDir, log))
    pools.sweep(clock())
    report.reaped = await recovery.step('reap', () => reaper.run())
    await recovery.step('commit', () => writer.commit())

    if (db !== null) await recovery.step('hydrate_journal', async () => app.journal.load(await readJournal(db)))
    await recovery.step('orphans', () => recoverBuffers(state, stateDir(config.dataDir), log.child({ component: 'orphans' })))

    const { queue, flusher } = app.sync
    if (db !== null) {
      const counts = await recovery.step('hydrate_sync', async () => queue.load(await readGroups(db, SYNC_GROUPS)))
      log.info({ sync: counts, upstream: flusher !== null }, 'sync queue hydrated')
    }
    // Stores the deletion of remembered idempotency keys that expired while the service was down.
    await writer.commit()
    flusher?.start()

    report.store = writer.error === null ? { mode: 'ok' } : { mode: 'degraded', error: writer.error.message }
    report.finished_at = clock().toISOString()
    log.info({ hydrated: { ...report.hydrated, files_invalid: report.hydrated.files_invalid.length }, reaped: report.reaped.length, orphans: report.orphans.outcomes.length, timings_ms: report.timings_ms }, 'start-up recovery done')

    periodic = startPeriodicPass(state, config, log)
  })

  app.addHook('preClose', async () => {
    if (periodic !== null) clearInterval(periodic)
  })
}

export default fp(startup, { name: 'startup', dependencies: ['store', 'buffers', 'sync'] })
