/** OpenAPI 3.1 generated from the route schemas; registered before any route so every route is collected. */
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { nameComponents } from './openapi-components.js'
import { declareConventions } from './openapi-conventions.js'
import { packageInfo } from '../../shared/package-info.js'

export const TAGS = [
  { name: 'workspaces', description: 'Workspace tracking: reports from agents and dispatchers.' },
  { name: 'pools', description: 'Concurrency snapshots per agent pool.' },
  { name: 'sync', description: 'The outbox of finished dispatch reports, delivered to the upstream API (SYNC_URL).' },
  { name: 'buffers', description: 'QA buffers (one DuckDB file per cycle) and the journal of committed cycles.' },
  { name: 'history', description: 'Run history and its statistics, exports, and online backups of the store.' },
  { name: 'mcp', description: 'The Model Context Protocol endpoint: the same operations as tools for agents that speak MCP.' },
  { name: 'operations', description: 'Health, readiness, the event stream, the start-up report and the API description.' }
]

async function openapi (app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agent-state',
        version: packageInfo.version,
        license: { name: packageInfo.license },
        description: 'State service for fleets of AI coding agents. Errors are RFC 9457 problem+json; times are RFC 3339 UTC; lists take `limit` and an opaque `cursor`.'
      },
      // Relative to wherever the service is reached: the document stays the same whatever the deployment.
      servers: [{ url: '/' }],
      tags: TAGS,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Tokens from AUTH_TOKENS, with scope read, write or admin.' } }
      }
    },
    // Registered as OpenAPI (never Swagger 2), so the document is always `openapiObject`.
    transformObject: (document) => declareConventions(nameComponents((document as { openapiObject: Record<string, unknown> }).openapiObject)),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` }
  })
}

export default fp(openapi, { name: 'openapi' })
