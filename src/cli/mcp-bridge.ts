/**
 * `agent-state mcp`: the service's MCP server on stdio, for clients that launch their servers as processes.
 *
 * A bridge, not a second server: every request is forwarded to the service's `/mcp` with the SDK's own client,
 * and every answer and resource notification comes back unchanged. The tools are defined once, in the service
 * (src/mcp/tools.ts), so they cannot differ between the two transports, and scopes, validation and the store
 * rules are applied where they are for REST. The handshake is answered locally with the service's identity, so
 * a client may start before the service does; the service is reached on the first request, and reached again
 * (a new session, its subscriptions renewed) after it restarted.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import {
  CallToolRequestSchema, CallToolResultSchema, EmptyResultSchema, ErrorCode, ListResourcesRequestSchema, ListResourcesResultSchema,
  ListResourceTemplatesRequestSchema, ListResourceTemplatesResultSchema, ListToolsRequestSchema, ListToolsResultSchema, McpError,
  ReadResourceRequestSchema, ReadResourceResultSchema, ResourceUpdatedNotificationSchema, SubscribeRequestSchema, UnsubscribeRequestSchema,
  type CallToolResult, type ClientRequest
} from '@modelcontextprotocol/sdk/types.js'
import { isProblem, problemLine } from '../client/index.js'
import { CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from '../mcp/identity.js'
import { MAX_CLAIM_WAIT_S } from '../shared/claims.js'
import { networkReason } from './common.js'

// A forwarded call may be a claim that waits up to MAX_CLAIM_WAIT_S: the bridge never times out before the
// service answers it. The client that launched the bridge keeps its own timeout.
const FORWARD_TIMEOUT_MS = (MAX_CLAIM_WAIT_S + 30) * 1000
// After the service went away, how long between attempts to reach it again for the subscriptions.
const REVIVE_MAX_MS = 30_000

type ResultSchema = Parameters<Client['request']>[1]

/** A failure to reach the service, as one line: the service's problem when it answered one. */
function reason (err: unknown, url: string): string {
  if (err instanceof StreamableHTTPError) {
    const body = /\{.*\}$/s.exec(err.message)?.[0]
    try {
      const problem: unknown = body === undefined ? undefined : JSON.parse(body)
      if (isProblem(problem)) return problemLine(problem)
    } catch {}
    return err.message
  }
  return `cannot reach ${url}: ${networkReason(err)}`
}

/** The session of a service that restarted (or expired it): the request never reached a session, so it may be sent again. */
const sessionGone = (err: unknown): boolean => err instanceof StreamableHTTPError && err.code === 404

/** The service's `/mcp`, with one MCP session at a time, opened when first needed. */
class Upstream {
  readonly #url: URL
  readonly #headers: Record<string, string>
  readonly #onUpdated: (uri: string) => void
  /** What the stdio client subscribed to: renewed on every new session. */
  readonly subscribed = new Set<string>()
  #current: Promise<Client> | null = null
  #reviving = false
  readonly #closed = new AbortController()

  constructor (url: string, token: string | undefined, onUpdated: (uri: string) => void) {
    this.#url = new URL(`${url.replace(/\/+$/, '')}/mcp`)
    this.#headers = token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }
    this.#onUpdated = onUpdated
  }

  get url (): string { return this.#url.href }

  async request (request: ClientRequest, schema: ResultSchema, signal: AbortSignal) {
    const current = this.#current ?? this.#open()
    const client = await current
    try {
      return await client.request(request, schema, { signal, timeout: FORWARD_TIMEOUT_MS })
    } catch (err) {
      if (err instanceof McpError) throw err
      this.#drop(current)
      if (!sessionGone(err)) throw err
      // The service restarted (or ended the session): the same request, once, in a new session.
      return await (await this.#open()).request(request, schema, { signal, timeout: FORWARD_TIMEOUT_MS })
    }
  }

  async close (): Promise<void> {
    this.#closed.abort()
    const current = this.#current
    this.#current = null
    const client = await current?.catch(() => null)
    if (client === null || client === undefined) return
    // Ends the session on the service rather than leaving it to expire.
    await (client.transport as StreamableHTTPClientTransport).terminateSession().catch(() => {})
    await client.close()
  }

  #open (): Promise<Client> {
    const opening = this.#connect()
    this.#current = opening
    opening.catch(() => this.#drop(opening))
    return opening
  }

  async #connect (): Promise<Client> {
    const client = new Client({ name: 'agent-state-mcp', version: SERVER_INFO.version })
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => this.#onUpdated(n.params.uri))
    client.onerror = (err) => {
      // The notification stream found its session gone, or gave up: reach the service again for the subscriptions.
      if (sessionGone(err) || /Maximum reconnection attempts/.test(err.message)) {
        if (this.#current !== null) void this.#current.then((c) => { if (c === client) this.#drop(this.#current) })
        void this.#revive()
      }
    }
    await client.connect(new StreamableHTTPClientTransport(this.#url, { requestInit: { headers: this.#headers } }))
    for (const uri of this.subscribed) await client.subscribeResource({ uri })
    return client
  }

  #drop (current: Promise<Client> | null): void {
    if (current === null || this.#current !== current) return
    this.#current = null
    void current.then(async (c) => await c.close(), () => {})
  }

  /** Reaches the service again, with a growing pause, while there are subscriptions to renew. */
  async #revive (): Promise<void> {
    if (this.#reviving) return
    this.#reviving = true
    try {
      for (let attempt = 0; this.subscribed.size > 0 && this.#current === null && !this.#closed.signal.aborted; attempt++) {
        try {
          await this.#open()
        } catch {
          await sleep(Math.min(REVIVE_MAX_MS, 1000 * 2 ** attempt), undefined, { signal: this.#closed.signal, ref: false }).catch(() => {})
        }
      }
    } finally {
      this.#reviving = false
    }
  }
}

/** Serves MCP on stdin/stdout until stdin ends or a signal comes; resolves with the exit code. */
export async function serveStdio (url: string, token: string | undefined): Promise<number> {
  const server = new Server(SERVER_INFO, { capabilities: CAPABILITIES, instructions: INSTRUCTIONS })
  const upstream = new Upstream(url, token, (uri) => { server.sendResourceUpdated({ uri }).catch(() => {}) })
  const failed = (err: unknown): McpError => err instanceof McpError ? err : new McpError(ErrorCode.InternalError, reason(err, upstream.url))
  const forward = async (request: ClientRequest, schema: ResultSchema, signal: AbortSignal) => {
    try {
      return await upstream.request(request, schema, signal)
    } catch (err) {
      throw failed(err)
    }
  }

  server.setRequestHandler(ListToolsRequestSchema, async (r, extra) => await forward(r, ListToolsResultSchema, extra.signal))
  server.setRequestHandler(ListResourcesRequestSchema, async (r, extra) => await forward(r, ListResourcesResultSchema, extra.signal))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (r, extra) => await forward(r, ListResourceTemplatesResultSchema, extra.signal))
  server.setRequestHandler(ReadResourceRequestSchema, async (r, extra) => await forward(r, ReadResourceResultSchema, extra.signal))
  server.setRequestHandler(CallToolRequestSchema, async (r, extra): Promise<CallToolResult> => {
    try {
      return await upstream.request(r, CallToolResultSchema, extra.signal)
    } catch (err) {
      if (err instanceof McpError) throw err
      // A model reads a tool error; the service being away is one it can act on (wait, retry).
      return { isError: true, content: [{ type: 'text', text: reason(err, upstream.url) }] }
    }
  })
  server.setRequestHandler(SubscribeRequestSchema, async (r, extra) => {
    await forward(r, EmptyResultSchema, extra.signal)
    upstream.subscribed.add(r.params.uri)
    return {}
  })
  server.setRequestHandler(UnsubscribeRequestSchema, async (r, extra) => {
    upstream.subscribed.delete(r.params.uri)
    await forward(r, EmptyResultSchema, extra.signal)
    return {}
  })

  const ended = new Promise<string>((resolve) => {
    process.stdin.once('end', () => resolve('stdin ended'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  await server.connect(new StdioServerTransport())
  await ended
  await upstream.close()
  await server.close()
  return 0
}
