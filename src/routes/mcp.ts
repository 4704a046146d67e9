/**
 * `/mcp`: the Model Context Protocol over Streamable HTTP (API §14). Fastify authenticates (a token of any
 * scope opens a session; each tool then needs the scope of the REST operation it mirrors) and answers the
 * refusals at the door as problem+json; the SDK's transport answers everything else on the raw response.
 * The store objects are reached here only and handed to the MCP side (src/mcp/).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Gauge } from 'prom-client'
import { Type } from 'typebox'
import type { AjvIssue } from '../store/core/field-errors.js'
import { DomainError } from '../store/core/errors.js'
import { buildTools } from '../mcp/tools.js'
import type { McpSessions } from '../mcp/sessions.js'
import { problem } from './schemas.js'

// A client refused a session retries after this long.
const RETRY_AFTER_S = 5

const DESCRIPTION = [
  'The Model Context Protocol endpoint for agents, on the Streamable HTTP transport of the official TypeScript SDK.',
  'A client opens a session with an `initialize` request (POST); the answer carries an `Mcp-Session-Id` header, which every',
  'later request repeats. POST carries JSON-RPC messages (answered as `application/json` or as a `text/event-stream`), GET opens',
  'the session\'s notification stream (`notifications/resources/updated` for subscribed workspaces), DELETE ends the session.',
  'The tools mirror REST operations and need their scopes: get_status, list_workspaces, get_workspace, list_pools, list_queue and',
  'run_stats (read), report_workspace, heartbeat and claim_work (write), clear_backoff (admin); a call without the scope is a',
  'tool error (`isError`, the problem code in its text) and changes nothing. Each workspace is the resource',
  '`agent-state://workspaces/{org}/{repo}/{leaf}`. Refusals at the door are problem+json: 401 without a valid token, 404 for a',
  'session that ended or expired (initialize anew), 429 when `MCP_SESSIONS_MAX` sessions are open. Errors inside the protocol',
  'are JSON-RPC errors. A session with nothing in flight and no stream open ends after `MCP_SESSION_IDLE_S`.'
].join(' ')

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { service, config } = app
  const tools = buildTools({
    workspaces: service.workspaces,
    pools: service.pools,
    queue: service.queue,
    claimWaits: service.claims,
    leaseS: service.reaper.leaseS,
    lane: service.history.lane,
    clock: service.clock
  })
  // The SDK takes about half a second to load: a service whose clients never speak MCP does not pay for it.
  let loading: Promise<McpSessions> | null = null
  const sessions = async (): Promise<McpSessions> => {
    loading ??= import('../mcp/sessions.js').then(({ McpSessions }) => new McpSessions({
      tools,
      workspaces: service.workspaces,
      events: service.events,
      assertWritable: () => service.handle.assertWritable(),
      limits: {
        max: config.mcpSessionsMax,
        idleMs: config.mcpSessionIdleS * 1000,
        subscriptionsMax: config.mcpSubscriptionsMax,
        keepAliveMs: config.sseKeepaliveS * 1000
      }
    }))
    return await loading
  }

  // eslint-disable-next-line no-new -- a registered gauge lives in the registry; nothing else holds it
  new Gauge({
    name: 'agent_state_mcp_sessions',
    help: 'MCP sessions open on /mcp now (at most MCP_SESSIONS_MAX).',
    registers: [app.metrics],
    async collect () { this.set(loading === null ? 0 : (await loading).size) }
  })

  // Sessions hold notification streams that never end by themselves: the lifecycle closes them before the server
  // waits for its connections (registered last, so stopped first).
  service.lifecycle.add({ name: 'mcp_sessions', stop: async () => { if (loading !== null) await (await loading).close() } })

  async function handle (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const mcp = await sessions()
    const header = request.headers['mcp-session-id']
    let session
    try {
      session = await mcp.route(typeof header === 'string' ? header : undefined, request.method, request.body, request.caller)
    } catch (err) {
      if (err instanceof DomainError && err.code === 'limit_reached') void reply.header('retry-after', String(RETRY_AFTER_S))
      throw err
    }
    const left = new AbortController()
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) left.abort() })
    // From here the transport writes the answer; Fastify's onResponse (metrics) still runs when it ends.
    reply.hijack()
    reply.raw.setHeader('x-request-id', request.id)
    await mcp.handle(session, request.raw, reply.raw, request.body, {
      caller: request.caller,
      scope: request.scope ?? 'read',
      validate: (schema, value) => {
        // The route's validator compiler with the body's rules (no coercion): what a REST body gets.
        const validate = request.compileValidationSchema(schema, 'body')
        return validate(value) ? null : (validate.errors ?? []) as AjvIssue[]
      },
      log: request.log,
      signal: left.signal
    })
  }

  // Any valid token opens a session; each tool checks the scope of the operation it mirrors.
  app.post('/mcp', {
    // POST carries reads as well as writes: the tools that write refuse while the store cannot take writes.
    config: { scope: 'read', guardsWrites: true },
    schema: {
      operationId: 'mcp',
      tags: ['mcp'],
      summary: 'The MCP endpoint (Streamable HTTP): the agents\' tools and the workspaces as resources',
      description: DESCRIPTION,
      // An object, or a batch of them as protocol versions before 2025-06-18 allow; the transport checks the rest.
      body: Type.Union([Type.Object({}), Type.Array(Type.Object({}))], { description: 'A JSON-RPC 2.0 message of the Model Context Protocol.' }),
      response: {
        200: {
          description: 'The answer to a JSON-RPC request, as JSON or as an event stream that carries it; the answer to `initialize` carries the `Mcp-Session-Id` header.',
          content: { 'application/json': { schema: Type.Unknown() }, 'text/event-stream': { schema: Type.String() } }
        },
        202: { description: 'A notification or a response from the client, accepted.', type: 'null' },
        400: problem('A request outside any session (`bad_request`: start with `initialize`), or a body that is not JSON.'),
        401: problem('Missing or unknown bearer token.'),
        404: problem('`not_found`: the `Mcp-Session-Id` names no open session of this token; it ended or expired.'),
        429: problem('`limit_reached`: `MCP_SESSIONS_MAX` sessions are open.')
      }
    }
  }, handle)
  app.get('/mcp', { config: { scope: 'read' }, exposeHeadRoute: false, schema: { hide: true } }, handle)
  app.delete('/mcp', { config: { scope: 'read', guardsWrites: true }, schema: { hide: true } }, handle)
}

export default routes
