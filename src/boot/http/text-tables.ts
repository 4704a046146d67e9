/**
 * Text tables by content negotiation (API §1): a route that sets `config.table` answers `Accept: text/plain`
 * or `?format=text` with its JSON turned into aligned columns. The one onSend hook (http-conventions.ts)
 * calls `textTable` for such routes only, so a new list or snapshot route only adds its `table` function
 * (and `format` to its querystring), and the hot write and read routes pay nothing for it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { renderTables, type Table } from '../../shared/text-table.js'
import { addVary } from './vary.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Rows for the text form of the route's 200 JSON body. `never` lets each route type the body as its own
     * response schema; the hook passes the parsed JSON.
     */
    table?: (body: never) => Table[]
  }
}

/** The q-value Accept gives `type`: the most specific matching range decides (RFC 9110 §12.5.1). */
function quality (accept: string, type: string): number {
  const major = type.slice(0, type.indexOf('/'))
  let specificity = 0
  let q = 0
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const s = range === type ? 3 : range === `${major}/*` ? 2 : range === '*/*' ? 1 : 0
    if (s <= specificity) continue
    specificity = s
    const qParam = params.find((p) => p.startsWith('q='))
    q = qParam === undefined ? 1 : (Number(qParam.slice(2)) || 0)
  }
  return q
}

/** `?format=` decides when given; otherwise text only when Accept prefers it to JSON (a tie, as with `*\/*`, stays JSON). */
export function wantsText (format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'text'
  return accept !== undefined && quality(accept, 'text/plain') > quality(accept, 'application/json')
}

/** The answer of a route that offers a text table: the table when the caller asks for one, else `payload` as it is. */
export function textTable (table: (body: never) => Table[], request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
  // One URL answers JSON or text depending on Accept, so caches must keep them apart.
  addVary(reply, 'Accept')
  // Errors stay problem+json; only the JSON body of a success becomes a table.
  if (reply.statusCode !== 200 || typeof payload !== 'string') return payload
  if (!wantsText((request.query as { format?: string }).format, request.headers.accept)) return payload
  reply.type('text/plain; charset=utf-8')
  return renderTables(table(JSON.parse(payload) as never))
}
