/** GET /metrics (API §9): this app's registry in the Prometheus text format. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AUTH_RESPONSES } from './schemas.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/metrics', {
    // Unlike /healthz, metrics name the pools and show the fleet's load: with AUTH_TOKENS set a scraper sends a read token.
    config: { scope: 'read' },
    schema: {
      operationId: 'getMetrics',
      tags: ['operations'],
      summary: 'Prometheus metrics: requests, workspaces, pools, backoffs, the sync queue, ghosts, orphans, store mode',
      description: 'The Prometheus text exposition format (version 0.0.4). Gauges are read from memory at each scrape; counters count since the process started.',
      response: {
        200: { description: 'The metrics.', content: { 'text/plain': { schema: Type.String() } } },
        ...AUTH_RESPONSES
      }
    }
  }, async (_request, reply) => {
    const body = await app.metrics.metrics()
    return reply.type(app.metrics.contentType).send(body)
  })
}

export default routes
