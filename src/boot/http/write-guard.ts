/**
 * Degraded mode at the door (API §9): while the store cannot take writes, every write is answered
 * 503 `store_unavailable` before it touches memory, so nothing is acknowledged that is not durable and
 * nothing refused is half-applied. Reads go on from memory. Every 503 says when to try again (the one
 * onSend hook in http-conventions.ts adds Retry-After), and so does a request that arrives while the
 * service is closing (problem+json, not Fastify's own body).
 */
import type { FastifyError, FastifyInstance, preHandlerHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { shuttingDown } from '../../store/core/errors.js'

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

async function writeGuard (app: FastifyInstance): Promise<void> {
  let closing = false
  app.decorate('closing', () => closing)
  app.addHook('preClose', async () => { closing = true })
  // Synchronous hooks: a promise per request is a cost every answer would pay.
  app.addHook('onRequest', (_request, _reply, done) => {
    if (closing) done(shuttingDown() as unknown as FastifyError)
    else done()
  })

  // preHandler: after authentication and validation, so a bad or unauthorised request still gets its own answer.
  // Only write routes get it, ahead of their own preHandlers; a route that guards its writes itself does not.
  const writable: preHandlerHookHandler = (_request, _reply, done) => {
    try {
      app.service.handle.assertWritable()
    } catch (err) {
      done(err as FastifyError)
      return
    }
    done()
  }
  app.addHook('onRoute', (route) => {
    if (route.config?.guardsWrites === true || ([] as string[]).concat(route.method).every((m) => READS.has(m))) return
    route.preHandler = [writable, ...[route.preHandler ?? []].flat()]
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
