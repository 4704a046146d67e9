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
import { JOURNAL_GROUP, journalKey, readJournal } from '../store/buffers/journal.js'
import { stateDir } from '../store/buffers/paths.js'
import { SYNC_GROUPS } from '../store/sync/sync-queue.js'
import { readGroups } from '../store/workspaces/hydrate.js'
import { volumeWarnings } from '../store/core/volume-folder.js'

async function startup (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const { state, log } = app
  const { writer, handle, recovery, reaper, pools, clock } = state
  const report = recovery.report
  let periodic: NodeJS.Timeout | null = null

  app.addHook('onReady', async () => {
    const db = state.db
    if (db !== null) await recovery.step('hydrate_store', () => hydrateStore(state, db))
    for (const warning of volumeWarnings(config.dataDir)) { recovery.warn(warning); log.warn(warning) }
    await recovery.step('hydrate_files', () => hydrateFiles(state, config.dataDir, log))
    await recovery.step('config', () => loadConfig(state, config.dataDir, log))
    pools.sweep(clock())
    // While degraded, ghosts are failed in memory and held for the store like every start-up write.
    report.reaped = await recovery.step('reap', () => reaper.run().catch(() => []))
    await recovery.step('commit', () => handle.commitOrHold())

    if (db !== null) {
      await recovery.step('hydrate_journal', async () => {
        // Rows past JOURNAL_MAX_BYTES (lowered since they were stored) leave the store with the next commit.
        const at = clock().toISOString()
        for (const id of app.journal.load(await readJournal(db))) writer.stage(JOURNAL_GROUP, journalKey(id), null, at)
      })
    }
    await recovery.step('orphans', () => recoverBuffers(state, stateDir(config.dataDir), config.quarantineKeep, log.child({ component: 'orphans' })))

    const { queue, flusher } = app.sync
    if (db !== null) {
      const counts = await recovery.step('hydrate_sync', async () => queue.load(await readGroups(db, SYNC_GROUPS)))
      log.info({ sync: counts, upstream: flusher !== null }, 'sync queue hydrated')
    }
    // Stores the deletion of remembered idempotency keys that expired while the service was down.
    await handle.commitOrHold()
    flusher?.start()

    const error = handle.error
    report.store = error === null ? { mode: 'ok' } : { mode: 'degraded', error: error.message }
    report.finished_at = clock().toISOString()
    log.info({ hydrated: { ...report.hydrated, files_invalid: report.hydrated.files_invalid.length }, reaped: report.reaped.length, orphans: report.orphans.outcomes.length, timings_ms: report.timings_ms }, 'start-up recovery done')

    periodic = startPeriodicPass(state, config, log)
    // Leases count from when agents can reach the service: here for in-process use, and again at listen.
    reaper.startLeaseClock()
  })

  app.addHook('onListen', async () => { reaper.startLeaseClock() })

  app.addHook('preClose', async () => {
    if (periodic !== null) clearInterval(periodic)
  })
}

export default fp(startup, { name: 'startup', dependencies: ['store', 'buffers', 'sync'] })
