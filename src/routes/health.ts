/** Liveness, readiness and the API description (OpenAPI and the /docs page); open to everyone, so orchestrators need no token. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { renderDocs, type OpenApiDocument } from './docs/docs-page.js'

// The page allows its own inline styles and nothing else: no scripts, no requests elsewhere.
const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    schema: {
      operationId: 'getHealth',
      security: [],
      tags: ['operations'],
      summary: 'Liveness: the process answers',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    schema: {
      operationId: 'getReadiness',
      security: [],
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
    const { handle, pools } = app.service
    // Unauthenticated: the reason is said in general terms; DuckDB's own text (with paths) is in the log.
    const store = handle.mode === 'ok' ? { store: 'ok' as const } : { store: 'degraded' as const, error: 'the store cannot take writes: reads are served from memory, writes answer 503 until it is back' }
    return pools.config.error === null ? store : { ...store, config_error: pools.config.error }
  })

  app.get('/openapi.json', {
    schema: {
      operationId: 'getOpenApi',
      security: [],
      tags: ['operations'],
      summary: 'This API as an OpenAPI 3.1 document',
      response: { 200: { type: 'object', additionalProperties: true, description: 'The OpenAPI document.' } }
    }
  }, async () => app.swagger() as unknown as Record<string, unknown>)

  // Rendered on first request: the document is complete only once every route is registered.
  let docs: string | null = null
  app.get('/docs', {
    schema: {
      operationId: 'getDocs',
      security: [],
      tags: ['operations'],
      summary: 'This API as a browsable HTML reference',
      description: 'Every operation with its parameters, request body and responses, generated from the same document as `/openapi.json`. Self-contained: no scripts and nothing loaded from elsewhere, so it works offline.',
      response: { 200: { description: 'The reference page.', content: { 'text/html': { schema: Type.String() } } } }
    }
  }, async (_request, reply) => {
    docs ??= renderDocs(app.swagger() as unknown as OpenApiDocument)
    return reply.type('text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).send(docs)
  })
}

export default routes
