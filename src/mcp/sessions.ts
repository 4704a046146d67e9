/**
 * MCP sessions over the SDK's Streamable HTTP transport (stateful, as the SDK recommends when the server
 * sends notifications: a subscription needs a session to be told on). Each session is one transport and one
 * server (server.ts), bound to the token that opened it.
 *
 * Bounded like every other client resource: at most MCP_SESSIONS_MAX at once, each closed after
 * MCP_SESSION_IDLE_S with no request in flight and no notification stream open, and all of them closed on
 * shutdown once the calls in flight have been answered.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { DomainError, limitReached, notFound } from '../store/core/errors.js'
import type { EventLog } from '../store/events/events.js'
import type { Workspaces } from '../store/workspaces/workspaces.js'
import { createMcpServer, type RequestScope } from './server.js'
import { Subscriptions } from './subscriptions.js'
import type { Tool } from './tools.js'

export interface SessionLimits {
  /** MCP_SESSIONS_MAX */
  max: number
  /** MCP_SESSION_IDLE_S, in ms */
  idleMs: number
  /** MCP_SUBSCRIPTIONS_MAX */
  subscriptionsMax: number
  /** Between keep-alive comments on a session's streams (SSE_KEEPALIVE_S, in ms). */
  keepAliveMs: number
}

export interface McpSessionsOptions {
  tools: Tool[]
  workspaces: Workspaces
  events: EventLog
  assertWritable: () => void
  limits: SessionLimits
}

export interface Session {
  /** Set once the initialize request has been answered. */
  id: string | undefined
  /** The token fingerprint that opened it: another token's requests do not find it. */
  readonly caller: string
  readonly transport: StreamableHTTPServerTransport
  readonly server: Server
  /** HTTP requests of this session in flight, its notification stream included. */
  active: number
  idle: NodeJS.Timeout | null
}

export class McpSessions {
  readonly #options: McpSessionsOptions
  readonly #subscriptions: Subscriptions
  readonly #all = new Set<Session>()
  readonly #byId = new Map<string, Session>()
  /** Resolves as each response in flight closes: shutdown answers them before it closes the sessions. */
  readonly #inFlight = new Set<Promise<void>>()

  constructor (options: McpSessionsOptions) {
    this.#options = options
    this.#subscriptions = new Subscriptions(options.events, options.limits.subscriptionsMax)
  }

  /** Sessions open or being opened. */
  get size (): number { return this.#all.size }

  /**
   * The session a request belongs to: a new one for an initialize request without a session id, else the one
   * its Mcp-Session-Id names. Refusals are problems the route answers before any MCP message: 400 for a
   * request outside any session, 404 for a session that ended, expired or belongs to another token (a client
   * then initializes anew, as the transport specification says), 429 when MCP_SESSIONS_MAX are open.
   */
  async route (sessionId: string | undefined, method: string, body: unknown, caller: string): Promise<Session> {
    if (sessionId === undefined) {
      if (method !== 'POST' || !isInitializeRequest(body)) {
        throw new DomainError('bad_request', 'an MCP session starts with an initialize request (POST /mcp); every later request carries the Mcp-Session-Id header it answered')
      }
      if (this.#all.size >= this.#options.limits.max) throw limitReached(`${this.#options.limits.max} MCP sessions are open (MCP_SESSIONS_MAX); retry later`)
      return await this.#open(caller)
    }
    const session = this.#byId.get(sessionId)
    if (session === undefined || session.caller !== caller) throw notFound(`MCP session ${sessionId}: it ended or expired; initialize a new one`)
    return session
  }

  /** Hands one HTTP request of `session` to its transport, which answers it on `res`. */
  async handle (session: Session, req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown, request: RequestScope): Promise<void> {
    session.active++
    this.#stopIdle(session)
    const closed = new Promise<void>((resolve) => res.once('close', resolve))
    this.#inFlight.add(closed)
    void closed.then(() => {
      this.#inFlight.delete(closed)
      if (--session.active === 0 && this.#all.has(session)) this.#startIdle(session)
    })
    // The SDK hands this to every handler of the messages this request carries (server.ts reads `request`).
    req.auth = { token: request.caller, clientId: request.caller, scopes: [request.scope], extra: { request } }
    try {
      await session.transport.handleRequest(req, res, body)
    } catch (err) {
      request.log.error({ err }, 'MCP transport failed')
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end()
    } finally {
      // An initialize the transport refused opened nothing.
      if (session.id === undefined) await this.#end(session)
    }
  }

  /**
   * Shutdown: ends every notification stream, waits for the answers in flight (a waiting claim_work has
   * already been answered by the claim waits closing), then closes every session.
   */
  async close (): Promise<void> {
    for (const s of this.#all) s.transport.closeStandaloneSSEStream()
    await Promise.all(this.#inFlight)
    await Promise.all([...this.#all].map(async (s) => await this.#end(s)))
    this.#subscriptions.close()
  }

  async #open (caller: string): Promise<Session> {
    const { tools, workspaces, assertWritable, limits } = this.#options
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      keepAliveMs: limits.keepAliveMs,
      onsessioninitialized: (id) => {
        session.id = id
        this.#byId.set(id, session)
      }
    })
    const server = createMcpServer({ tools, workspaces, assertWritable, subscriptions: this.#subscriptions })
    const session: Session = { id: undefined, caller, transport, server, active: 0, idle: null }
    // A DELETE from the client closes the transport: the session is gone.
    transport.onclose = () => this.#forget(session)
    this.#all.add(session)
    await server.connect(transport)
    return session
  }

  async #end (session: Session): Promise<void> {
    this.#forget(session)
    await session.server.close()
  }

  #forget (session: Session): void {
    this.#stopIdle(session)
    this.#all.delete(session)
    if (session.id !== undefined) this.#byId.delete(session.id)
  }

  #startIdle (session: Session): void {
    session.idle = setTimeout(() => { void this.#end(session) }, this.#options.limits.idleMs)
    session.idle.unref()
  }

  #stopIdle (session: Session): void {
    if (session.idle !== null) clearTimeout(session.idle)
    session.idle = null
  }
}
