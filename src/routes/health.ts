/** Liveness, readiness and the API description; open to everyone, so orchestrators need no token. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    schema: {
      operationId: 'getHealth',
      tags: ['operations'],
      summary: 'Liveness: the process answers',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    schema: {
      operationId: 'getReadiness',
      tags: ['operations'],
      summary: 'Readiness: start-up is done; says whether the store is ok or degraded',
      response: {
        200: Type.Object({
          store: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
          error: Type.Optional(Type.String({ description: 'Why the store is degraded.' })),
          config_error: Type.Optional(Type.String({ description: 'Why agents.yaml was refused at start-up; the last good configuration is in force.' }))
        })
      }
    }
  }, async () => {
    const { writer, pools } = app.state
    const store = writer.error === null ? { store: 'ok' as const } : { store: 'degraded' as const, error: writer.error.message }
    return pools.config.error === null ? store : { ...store, config_error: pools.config.error }
  })

  app.get('/openapi.json', {
    schema: {
      operationId: 'getOpenApi',
      tags: ['operations'],
      summary: 'This API as an OpenAPI 3.1 document',
      response: { 200: { type: 'object', additionalProperties: true, description: 'The OpenAPI document.' } }
    }
  }, async () => app.swagger() as unknown as Record<string, unknown>)
}

export default routes
