/**
 * `?format=text` on a route that has no text table is refused, never ignored: a person who asked for a table and got
 * JSON (or a bare "additional properties" error) cannot tell the table does not exist. The routes that define a
 * `format` query of their own (exports: ndjson, csv, parquet) are theirs to validate.
 */
import type { FastifyError, onRequestHookHandler, RouteOptions } from 'fastify'
import { DomainError } from '../../store/core/errors.js'

/** Whether a route's querystring schema declares `format` itself. */
function ownsFormat (route: RouteOptions): boolean {
  const properties = (route.schema?.querystring as { properties?: Record<string, unknown> } | undefined)?.properties
  return properties?.format !== undefined
}

/** Adds to an API read route without a table an onRequest hook that answers `format=text` with a 400 saying so. */
export function refuseTextWithoutTable (route: RouteOptions): void {
  const methods = [route.method].flat()
  if (!methods.includes('GET') || !route.url.startsWith('/v1/') || ownsFormat(route)) return
  // Synchronous: the hot reads (one workspace) pay for it on every request.
  const refuse: onRequestHookHandler = (request, _reply, done) => {
    if ((request.query as { format?: unknown }).format !== 'text') {
      done()
      return
    }
    done(new DomainError('validation_failed', `${route.url} has no text table (format=text); it answers JSON only`, [
      { field: 'query.format', message: 'no text table on this route' }
    ]) as unknown as FastifyError)
  }
  route.onRequest = [...[route.onRequest ?? []].flat(), refuse]
}
