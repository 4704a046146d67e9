/**
 * Degraded mode at the door (API §9): while the store cannot take writes, every write is answered
 * 503 `store_unavailable` before it touches memory, so nothing is acknowledged that is not durable and
 * nothing refused is half-applied. Reads go on from memory. Every 503 says when to try again, and
 * so does a request that arrives while the service is closing (problem+json, not Fastify's own body).
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { shuttingDown } from '../../store/core/errors.js'

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

async function writeGuard (app: FastifyInstance, { retryAfterS }: { retryAfterS: number }): Promise<void> {
  let closing = false
  app.decorate('closing', () => closing)
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onRequest', async () => {
    if (closing) throw shuttingDown()
  })

  // preHandler: after authentication and validation, so a bad or unauthorised request still gets its own answer.
  app.addHook('preHandler', async (request) => {
    if (!READS.has(request.method) && request.routeOptions.config.guardsWrites !== true) app.service.handle.assertWritable()
  })

  app.addHook('onSend', async (_request, reply) => {
    // Node's server.close() closes the connections idle at that moment only: one whose request was in flight
    // would stay open after its answer until the keep-alive timeout (72 s), and hold the exit past the grace.
    if (closing) reply.header('connection', 'close')
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfterS))
  })
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route refuses writes itself, per operation: its POSTs carry reads as well (`/mcp`). */
    guardsWrites?: boolean
  }
  interface FastifyInstance {
    /** True once the service has begun to close: what arrives or starts after that is answered 503 `shutting_down`. */
    closing: () => boolean
  }
}

export default fp(writeGuard, { name: 'write-guard' })
