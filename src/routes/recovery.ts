/** The start-up report and an on-demand reaper pass, for operators (API §8.4). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AUTH_RESPONSES } from './schemas.js'
import { GhostSchema, RecoverySchema } from '../store/startup/report.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/recovery', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getRecovery',
      tags: ['operations'],
      summary: 'The last start-up report: hydration, ghosts reaped, orphans recovered, timings',
      response: { 200: RecoverySchema, ...AUTH_RESPONSES }
    }
  }, async () => app.service.recovery.report)

  app.post('/v1/reap', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'reapGhosts',
      tags: ['operations'],
      summary: 'Run a reaper pass now',
      description: 'The reaper also runs every REAPER_INTERVAL_S; this runs it at once and returns the ghosts it failed.',
      response: { 200: Type.Object({ reaped: Type.Array(GhostSchema) }), ...AUTH_RESPONSES }
    }
  }, async () => ({ reaped: await app.service.reaper.run() }))
}

export default routes
