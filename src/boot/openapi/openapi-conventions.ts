/**
 * What the route schemas cannot say about HTTP and the document completes: the response headers the service
 * sends (RequestId on every answer, ETag, X-Store, …) and the request bodies that may be left out.
 * test/openapi-conventions.test.ts sends real requests to hold each declaration to what the service does.
 */
type Json = Record<string, unknown>

const header = (description: string, schema: Json = { type: 'string' }) => ({ description, schema })

export const RESPONSE_HEADERS = {
  'X-Request-Id': header('This request\'s id: the caller\'s own `X-Request-Id` when it sent a usable one, else one the service made. The log lines of the request carry it as `reqId`.'),
  ETag: header('A strong tag of the stored resource; send it back as `If-Match` (writes) or `If-None-Match` (reads).'),
  'X-Store': header('`ok`: stored durably. `degraded`: the store is unavailable and the answer comes from memory.', { type: 'string', enum: ['ok', 'degraded'] }),
  'Idempotent-Replayed': header('`true` when the `Idempotency-Key` was seen before and this is the first answer again.', { type: 'string', enum: ['true'] }),
  'Retry-After': header('Seconds to wait before trying again.', { type: 'integer', minimum: 0 }),
  Vary: header('`Accept`: the answer is JSON or a text table, by the `Accept` header.')
} satisfies Record<string, Json>
type HeaderName = keyof typeof RESPONSE_HEADERS

/** Operations whose request body may be absent (it counts as `{}`). */
export const OPTIONAL_BODIES = new Set(['claimQueued', 'heartbeatWorkspace', 'createBackup'])

/** Operations that answer a resource with an ETag, and so a 304 to a matching If-None-Match. */
export const ETAG_READS = new Set(['getWorkspace', 'getBuffer'])
/** Operations whose successful answer carries an ETag of what they wrote. */
const ETAG_WRITES = new Set(['reportWorkspace', 'claimQueued', 'createBuffer', 'addBufferEntries'])
/** Operations that write through the store and say how it went (X-Store) on every 2xx that changed something. */
const STORE_WRITES = new Set(['reportWorkspace', 'deleteWorkspace', 'heartbeatWorkspace', 'claimQueued', 'setPoolBackoff', 'clearPoolBackoff', 'putConfig',
  'enqueueSync', 'clearSyncQueue', 'dropSyncItem', 'dropSyncDeadLetter', 'replaySyncDeadLetter', 'createBuffer', 'addBufferEntries', 'commitBuffer', 'discardBuffer'])

/** The headers a response of `operation` with `status` carries, beside X-Request-Id. */
function headersFor (operation: Json, status: string): HeaderName[] {
  const id = String(operation.operationId)
  const names: HeaderName[] = []
  const ok = status.startsWith('2')
  // Only an answer that holds the resource (or says it is unchanged) tags it; a 204 has none.
  if (['200', '201', '304'].includes(status) && (ETAG_READS.has(id) || ETAG_WRITES.has(id))) names.push('ETag')
  // A claim that found nothing (204) changed nothing.
  if (ok && STORE_WRITES.has(id) && !(id === 'claimQueued' && status === '204')) names.push('X-Store')
  if (ok && id === 'enqueueSync') names.push('Idempotent-Replayed')
  if (status === '200' && isObject(operation.responses) && hasTextTable(operation.responses['200'])) names.push('Vary')
  if (status === '503' || status === '429') names.push('Retry-After')
  return names
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const hasTextTable = (response: unknown): boolean => isObject(response) && isObject(response.content) && 'text/plain' in response.content && 'application/json' in response.content

/**
 * A read with an ETag may answer 304. `If-None-Match` is not declared as a parameter: any value is accepted
 * (one that matches nothing just gets the 200), while a declared header is one whose bad values are refused.
 */
function conditionalRead (operation: Json, responses: Json): Json {
  if (!ETAG_READS.has(String(operation.operationId))) return { responses }
  const notModified = { description: 'Not modified: the request\'s `If-None-Match` names the current ETag (or is `*`).', headers: { 'X-Request-Id': RESPONSE_HEADERS['X-Request-Id'], ETag: RESPONSE_HEADERS.ETag } }
  return { responses: { ...responses, 304: notModified } }
}

/** Declares response headers, optional bodies and conditional reads in `doc`; returns a new document. */
export function declareConventions<T extends Json> (doc: T): T {
  const paths = Object.fromEntries(Object.entries(doc.paths as Record<string, Json>).map(([path, item]) => [path, Object.fromEntries(Object.entries(item).map(([method, op]) => {
    if (!isObject(op) || !isObject(op.responses)) return [method, op]
    const operation = op
    const responses = Object.fromEntries(Object.entries(operation.responses as Record<string, Json>).map(([status, response]) => {
      const names: HeaderName[] = ['X-Request-Id', ...headersFor(operation, status)]
      return [status, { ...response, headers: { ...(isObject(response.headers) ? response.headers : {}), ...Object.fromEntries(names.map((n) => [n, RESPONSE_HEADERS[n]])) } }]
    }))
    const body = isObject(operation.requestBody) && OPTIONAL_BODIES.has(String(operation.operationId)) ? { requestBody: { ...operation.requestBody, required: false } } : {}
    return [method, { ...operation, ...body, ...conditionalRead(operation, responses) }]
  }))]))
  return { ...doc, paths }
}
