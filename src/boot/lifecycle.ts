/** Start-up in `onReady`, before the server listens: hydrate from the store (API §8.1). */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { hydrateWorkspaces, readEntries } from '../store/hydrate.js'

async function lifecycle (app: FastifyInstance): Promise<void> {
  const { db, events, workspaces, writer, recovery } = app.state

  app.addHook('onReady', async () => {
    const report = recovery.report
    if (db !== null) {
      await recovery.step('hydrate_store', async () => {
        const { groups, lastEventId } = await readEntries(db)
        events.resume(lastEventId)
        const counts = hydrateWorkspaces(workspaces, groups)
        report.hydrated.from_store = counts.registry
        report.hydrated.from_queue = counts.queueOnly
      })
    }
    await writer.commit()
    report.store = writer.error === null ? { mode: 'ok' } : { mode: 'degraded', error: writer.error.message }
    report.finished_at = app.state.clock().toISOString()
    app.log.info({ hydrated: report.hydrated, timings_ms: report.timings_ms }, 'start-up recovery done')
  })
}

export default fp(lifecycle, { name: 'lifecycle', dependencies: ['store'] })
