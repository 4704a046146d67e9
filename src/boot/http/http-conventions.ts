/**
 * HTTP habits clients and proxies expect: every answer names its request id; a GET with a matching
 * If-None-Match is a 304; a known path with a wrong method is a 405 that says which methods it takes;
 * CORS only for the origins CORS_ORIGINS names; large answers compressed when the client accepts it.
 */
import compress from '@fastify/compress'
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { noneMatch } from '../../store/core/etag.js'

// Below this a gzip header and the CPU cost more than the bytes saved (a workspace record is ~400 B).
const COMPRESS_THRESHOLD = 2048
// JSON, problems, text tables, /docs and /metrics. Never the event stream: compressing it would hold events back.
const COMPRESSIBLE = /^(application\/(json|problem\+json)|text\/(plain|html))(;|$)/

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

async function httpConventions (app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const routes = new RouteMethods()
  app.addHook('onRoute', (route) => {
    // A catch-all (CORS preflight's `*`) is no path of its own.
    if (!route.url.includes('*')) routes.add(route.url, ([] as string[]).concat(route.method))
  })
  app.decorate('allowedMethods', (request: FastifyRequest) => routes.allowed(request.url.split('?')[0] ?? '/'))

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id)
    const etag = reply.getHeader('etag')
    const given = request.headers['if-none-match']
    if ((request.method === 'GET' || request.method === 'HEAD') && reply.statusCode === 200 && typeof etag === 'string' && typeof given === 'string' && noneMatch(given, etag)) {
      reply.code(304)
      reply.removeHeader('content-type')
      reply.removeHeader('content-length')
      return null
    }
    return payload
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

  await app.register(compress, { global: true, threshold: COMPRESS_THRESHOLD, customTypes: COMPRESSIBLE, encodings: ['br', 'gzip', 'deflate'] })
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods the path of `request` is routed for (empty: no route has that path). */
    allowedMethods: (request: FastifyRequest) => string[]
  }
}

export default fp(httpConventions, { name: 'http-conventions' })
