/** `GET /v1/whoami`: which scope the caller's token grants, so a client (the dashboard) offers only what it may do. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { SCOPES } from '../shared/scopes.js'
import { AUTH_RESPONSES } from './schemas.js'

const WhoamiSchema = Type.Object({
  auth: Type.Enum(['open', 'token'], { description: '`open`: no tokens are configured and every route is open; `token`: a bearer token is needed.' }),
  scope: Type.Enum(SCOPES, { description: 'What the caller may do: `admin` when the service runs open.' }),
  caller: Type.String({ description: 'How events name the caller: `token:<fingerprint>` (never the token), or `open`.' })
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/whoami', {
    // `read` is the lowest scope, so any valid token passes and the answer names its own scope.
    config: { scope: 'read' },
    schema: {
      operationId: 'whoami',
      tags: ['operations'],
      summary: "The caller's scope, and whether the service runs open",
      response: { 200: WhoamiSchema, ...AUTH_RESPONSES }
    }
  }, async (request) => ({
    auth: app.config.tokens.size === 0 ? 'open' as const : 'token' as const,
    scope: request.scope ?? 'read',
    caller: request.caller
  }))
}

export default routes
