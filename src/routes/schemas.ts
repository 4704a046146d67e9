/** Schemas every route shares: problems, lists, paging, text tables, conditional writes. They feed validation, serialisation and OpenAPI. */
import { Type, type TSchema } from 'typebox'

/** The problem+json response entry for a status, for a route's `response` map. */
export function problem (description: string) {
  return { description, content: { 'application/problem+json': { schema: Type.Ref('Problem') } } }
}

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Page size (max 1000).' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'Opaque cursor from `next_cursor`.' }))
}

/** The `format` query parameter of routes that can answer with a text table. */
export const FormatQuery = {
  format: Type.Optional(Type.Enum(['json', 'text'], { description: '`text`: an aligned text table instead of JSON, as `Accept: text/plain` asks too.' }))
}

/** A 200 response that is JSON, or an aligned text table when asked for (`Accept: text/plain` or `?format=text`). */
export function orTextTable<T extends TSchema> (schema: T, description: string) {
  return {
    description,
    content: {
      'application/json': { schema },
      'text/plain': { schema: Type.String({ description: 'The same data as aligned columns under a header line, for a terminal.' }) }
    }
  }
}

export function Page<T extends TSchema> (item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Cursor for the next page; null at the end.' })
  })
}

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 1024, description: 'Apply only if the stored resource still has this ETag (412 otherwise).' }))
})

/** Appended to the description of every route that writes to the store. */
export const STORE_NOTE = ' The `X-Store` header says `ok` (stored durably) or `degraded` (held in memory while the store is unavailable).'

/** The auth failures every protected route can answer. */
export const AUTH_RESPONSES = {
  401: problem('Missing or unknown bearer token.'),
  403: problem('The token lacks the scope this route needs.')
}
