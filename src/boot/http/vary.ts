/** The Vary header as a list several hooks add to: setting it outright erased what CORS or compression had put there. */
import type { FastifyReply } from 'fastify'

/** Adds `field` to the answer's Vary header unless it is listed already (or the header is `*`). */
export function addVary (reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary')
  const listed = (current === undefined ? [] : [current].flat()).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean)
  if (listed.some((v) => v === '*' || v.toLowerCase() === field.toLowerCase())) return
  reply.header('vary', [...listed, field].join(', '))
}
