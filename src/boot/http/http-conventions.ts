/**
 * HTTP habits clients and proxies expect: every answer names its request id; a GET with a matching
 * If-None-Match is a 304; a known path with a wrong method is a 405 that says which methods it takes;
 * CORS only for the origins CORS_ORIGINS names; large answers compressed when the client accepts it.
 *
 * Everything an answer needs on its way out is one synchronous onSend hook for every route: the text
 * table a route offers, the request id, the closing and retry headers, the 304, and compression. Each
 * further hook is paid by every request (a promise, a call through Fastify's hook runner), and most
 * answers are a few hundred bytes that only need the request id.
 */
import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib'
import { negotiate } from '@fastify/accept-negotiator'
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { noneMatch } from '../../store/core/etag.js'
import { addVary } from './vary.js'
import { refuseTextWithoutTable } from './no-text-table.js'
import { textTable } from './text-tables.js'

// Below this a compressed answer and its headers cost more than the bytes saved (a workspace record is ~400 B).
const COMPRESS_THRESHOLD = 2048
// JSON, problems, text tables, /docs and /metrics. Never the event stream: compressing it would hold events back.
const COMPRESSIBLE = /^(application\/(json|problem\+json)|text\/(plain|html))(;|$)/
// Brotli at quality 4: its default, 11, costs many times the CPU for a few percent fewer bytes.
const BROTLI = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }
const COMPRESSORS: Record<string, (body: string | Buffer) => Buffer> = {
  br: (body) => brotliCompressSync(body, BROTLI),
  gzip: (body) => gzipSync(body),
  deflate: (body) => deflateSync(body)
}
// In the server's order of preference; the client's q-values decide first.
const ENCODINGS = Object.keys(COMPRESSORS)

/** Each route pattern as a regular expression, with the methods it answers. */
class RouteMethods {
  readonly #routes = new Map<string, { pattern: RegExp, methods: Set<string> }>()

  add (url: string, methods: string[]): void {
    const entry = this.#routes.get(url) ?? { pattern: toPattern(url), methods: new Set<string>() }
    for (const m of methods) entry.methods.add(m)
    this.#routes.set(url, entry)
  }

  /** The methods of the route pattern `path` matches, or none when no route has this path. */
  allowed (path: string): string[] {
    const methods = new Set<string>()
    for (const { pattern, methods: ms } of this.#routes.values()) if (pattern.test(path)) for (const m of ms) methods.add(m)
    return [...methods].sort()
  }
}

function toPattern (url: string): RegExp {
  const parts = url.split('/').map((part) => part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join('/')}/?$`)
}

/** A 200 to a GET or HEAD whose ETag the caller already holds (If-None-Match). */
function notModified (request: FastifyRequest, reply: FastifyReply): boolean {
  const given = request.headers['if-none-match']
  if (given === undefined || reply.statusCode !== 200 || (request.method !== 'GET' && request.method !== 'HEAD')) return false
  const etag = reply.getHeader('etag')
  return typeof etag === 'string' && noneMatch(given, etag)
}

/** Whether a body is at least the threshold in bytes; a string's length bounds its UTF-8 size from both sides. */
function large (body: string | Buffer): boolean {
  if (body.length >= COMPRESS_THRESHOLD) return true
  return typeof body === 'string' && body.length * 3 >= COMPRESS_THRESHOLD && Buffer.byteLength(body) >= COMPRESS_THRESHOLD
}

/** The body compressed in the encoding the client prefers, when it is large and of a compressible type; else as it is. */
function compressed (request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload
  const accepted = request.headers['accept-encoding']
  if (accepted === undefined || !large(payload) || reply.hasHeader('content-encoding')) return payload
  const type = reply.getHeader('content-type')
  if (typeof type !== 'string' || !COMPRESSIBLE.test(type)) return payload
  const encoding = negotiate(accepted, ENCODINGS)
  if (encoding === null) return payload
  const body = (COMPRESSORS[encoding] as (b: string | Buffer) => Buffer)(payload)
  addVary(reply, 'Accept-Encoding')
  reply.header('content-encoding', encoding)
  reply.header('content-length', body.length)
  return body
}

async function httpConventions (app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const routes = new RouteMethods()
  app.addHook('onRoute', (route) => {
    // A catch-all (CORS preflight's `*`) is no path of its own.
    if (!route.url.includes('*')) routes.add(route.url, ([] as string[]).concat(route.method))
    if (route.config?.table === undefined) refuseTextWithoutTable(route)
  })
  app.decorate('allowedMethods', (request: FastifyRequest) => routes.allowed(request.url.split('?')[0] ?? '/'))

  const retryAfter = String(opts.config.storeRetryS)
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    // Node's server.close() closes the connections idle at that moment only: one whose request was in flight
    // would stay open after its answer until the keep-alive timeout (72 s), and hold the exit past the grace.
    if (app.closing()) reply.header('connection', 'close')
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', retryAfter)
    const table = request.routeOptions.config.table
    const body = table === undefined ? payload : textTable(table, request, reply, payload)
    if (notModified(request, reply)) {
      reply.code(304)
      reply.removeHeader('content-type')
      reply.removeHeader('content-length')
      done(null, null)
      return
    }
    done(null, compressed(request, reply, body))
  })

  if (opts.config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: opts.config.corsOrigins,
      // What a browser page needs to read: the version of a record and how the store took a write.
      exposedHeaders: ['ETag', 'X-Store', 'X-Request-Id', 'Idempotent-Replayed', 'Retry-After'],
      allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'Last-Event-ID', 'X-Request-Id'],
      maxAge: 600
    })
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods the path of `request` is routed for (empty: no route has that path). */
    allowedMethods: (request: FastifyRequest) => string[]
  }
}

export default fp(httpConventions, { name: 'http-conventions' })
