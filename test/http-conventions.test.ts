/** HTTP conventions: request ids, problem types that resolve, 405 + Allow, CORS, 304, compression, and the document saying so. */
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import t from 'tap'
import { PROBLEMS } from '../src/store/core/errors.js'
import { startService } from './child.js'
import { build, json, put, report } from './helper.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

t.test('every answer carries a request id: the caller\'s when it is usable, and problems repeat it', async (t) => {
  const { app } = await build(t)
  const own = await app.inject({ url: '/healthz' })
  t.match(own.headers['x-request-id'], UUID)
  t.equal((await app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-42.a:b' } })).headers['x-request-id'], 'trace-42.a:b')
  const hostile = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'a b\u00e9'.repeat(3) } })
  t.match(hostile.headers['x-request-id'], UUID, 'a header with spaces or other characters is replaced')
  const missing = await app.inject({ url: '/v1/workspaces/a/b/none', headers: { 'x-request-id': 'r-1' } })
  t.equal(missing.json().request_id, 'r-1')
  t.equal(missing.headers['x-request-id'], 'r-1')
})

t.test('a problem type resolves to a page of this service explaining the code', async (t) => {
  const { app } = await build(t, { AUTH_TOKENS: 'reader-token-0001:read' })
  const res = await app.inject({ url: '/v1/workspaces/a/b/c', headers: { authorization: 'Bearer reader-token-0001' } })
  t.equal(res.json().type, '/problems/not_found')
  const page = await app.inject({ url: res.json().type })
  t.equal(page.statusCode, 200, 'open to everyone, like /docs')
  t.match(page.headers['content-type'], 'text/plain')
  t.match(page.body, /^not_found \(404 Not Found\)/)
  t.equal((await app.inject({ url: '/problems/no_such_code' })).statusCode, 404)
  t.equal((await app.inject({ url: '/problems/Not-A-Code' })).statusCode, 400)
})

t.test('every code of the catalogue has its page', async (t) => {
  const { app } = await build(t)
  for (const [code, { status }] of Object.entries(PROBLEMS)) {
    const page = await app.inject({ url: `/problems/${code}` })
    t.equal(page.statusCode, 200, code)
    t.match(page.body, new RegExp(`^${code} \\(${status} `), code)
  }
})

t.test('a known path with a wrong method is 405 with Allow; an unknown path stays 404', async (t) => {
  const { app } = await build(t)
  const status = await app.inject({ method: 'DELETE', url: '/v1/status' })
  t.equal(status.statusCode, 405)
  t.equal(status.headers.allow, 'GET, HEAD')
  t.match(status.json(), { code: 'method_not_allowed', type: '/problems/method_not_allowed' })
  const ws = await app.inject({ method: 'POST', url: '/v1/workspaces/a/b/c' })
  t.equal(ws.statusCode, 405)
  t.equal(ws.headers.allow, 'DELETE, GET, HEAD, PUT')
  t.equal((await app.inject({ method: 'OPTIONS', url: '/v1/status' })).statusCode, 405, 'no CORS preflight unless configured')
  t.equal((await app.inject({ url: '/v1/nothing/here' })).statusCode, 404)
})

t.test('CORS is off by default and answers only the configured origins', async (t) => {
  const off = await build(t)
  const plain = await off.app.inject({ url: '/healthz', headers: { origin: 'https://dash.example' } })
  t.equal(plain.headers['access-control-allow-origin'], undefined)

  const on = await build(t, { CORS_ORIGINS: 'https://dash.example,http://127.0.0.1:8080' })
  const preflight = await on.app.inject({ method: 'OPTIONS', url: '/v1/workspaces', headers: { origin: 'https://dash.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], 'https://dash.example')
  t.match(String(preflight.headers['access-control-allow-headers']), /Authorization/)
  const read = await on.app.inject({ url: '/v1/status', headers: { origin: 'https://dash.example' } })
  t.equal(read.headers['access-control-allow-origin'], 'https://dash.example')
  t.match(String(read.headers['access-control-expose-headers']), /ETag/)
  const other = await on.app.inject({ url: '/v1/status', headers: { origin: 'https://evil.example' } })
  t.equal(other.headers['access-control-allow-origin'], undefined, 'another origin gets nothing')
  await t.rejects(build(t, { CORS_ORIGINS: '*' }), /CORS_ORIGINS/, 'a wildcard is not a list of origins')
})

t.test('If-None-Match with the current ETag is a 304 without a body', async (t) => {
  const { app } = await build(t)
  const stored = await put(app, 'core/a/etag', report())
  const etag = stored.headers.etag as string
  const same = await app.inject({ url: '/v1/workspaces/core/a/etag', headers: { 'if-none-match': `"other", ${etag}` } })
  t.equal(same.statusCode, 304)
  t.equal(same.body, '')
  t.equal(same.headers.etag, etag)
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/etag', headers: { 'if-none-match': 'W/' + etag } })).statusCode, 304, 'weak comparison')
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/etag', headers: { 'if-none-match': '*' } })).statusCode, 304)
  await put(app, 'core/a/etag', report({ task: 'changed' }))
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/etag', headers: { 'if-none-match': etag } })).statusCode, 200, 'a changed record is sent again')
})

t.test('a compressed request body is refused with 415, saying why, and changes nothing', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({
    method: 'PUT',
    url: '/v1/workspaces/core/a/zipped',
    payload: gzipSync(JSON.stringify(report())),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }
  })
  t.equal(res.statusCode, 415)
  t.match(res.json(), { code: 'unsupported_media_type', detail: /Content-Encoding "gzip"/ })
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/zipped' })).statusCode, 404, 'nothing was stored')
  const plain = await app.inject({ method: 'PUT', url: '/v1/workspaces/core/a/zipped', payload: report(), headers: { 'content-encoding': 'identity' } })
  t.equal(plain.statusCode, 201, 'identity is no encoding')
})

t.test('large answers are compressed for a client that accepts it; small ones and the event stream are not', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 30; i++) await put(app, `core/a/w-${i}`, report({ task: `task number ${i} with some words to make it longer` }))
  const list = await app.inject({ url: '/v1/workspaces', headers: { 'accept-encoding': 'gzip' } })
  t.equal(list.headers['content-encoding'], 'gzip')
  t.equal(JSON.parse(gunzipSync(list.rawPayload).toString()).items.length, 30)
  t.equal((await app.inject({ url: '/v1/workspaces' })).headers['content-encoding'], undefined, 'not without Accept-Encoding')
  t.equal((await app.inject({ url: '/healthz', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], undefined, 'small answers stay as they are')

  const service = await startService(t, { DATA_DIR: join(t.testdir(), 'data') })
  const abort = new AbortController()
  const stream = await fetch(`${service.url}/v1/events`, { headers: { 'accept-encoding': 'gzip, br' }, signal: abort.signal })
  t.equal(stream.headers.get('content-type'), 'text/event-stream')
  t.equal(stream.headers.get('content-encoding'), null, 'events are never held back by a compressor')
  abort.abort()
})

t.test('the headers and optional bodies the OpenAPI document declares are what the service does', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { operationId: string, requestBody?: { required?: boolean }, responses: Record<string, { headers?: Record<string, unknown> }> }>> }
  const operations = new Map(Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => [op.operationId, { path, method, op }])))
  const declared = (id: string, status: number) => Object.keys(operations.get(id)?.op.responses[String(status)]?.headers ?? {}).sort()
  const check = async (id: string, res: { statusCode: number, headers: Record<string, unknown> }) => {
    const names = declared(id, res.statusCode)
    t.ok(names.length > 0, `${id} ${res.statusCode} is declared`)
    t.same(names.filter((h) => res.headers[h.toLowerCase()] === undefined), [], `${id} ${res.statusCode} sends every header it declares`)
  }

  await check('reportWorkspace', await put(app, 'core/a/one', report()))
  const got = await app.inject({ url: '/v1/workspaces/core/a/one' })
  await check('getWorkspace', got)
  await check('getWorkspace', await app.inject({ url: '/v1/workspaces/core/a/one', headers: { 'if-none-match': got.headers.etag as string } }))
  await check('listWorkspaces', await app.inject({ url: '/v1/workspaces' }))
  await check('heartbeatWorkspace', await app.inject({ method: 'POST', url: '/v1/workspaces/core/a/one/heartbeat' }))
  const enqueue = () => app.inject({ method: 'POST', url: '/v1/sync/queue', ...json({ agent_id: 'a', dispatches: [] }), headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' } })
  await enqueue()
  await check('enqueueSync', await enqueue())
  await check('claimQueued', await app.inject({ method: 'POST', url: '/v1/queue/claim' }))
  await check('deleteWorkspace', await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/one' }))

  // A body the document marks optional is accepted when absent; a required one is refused.
  const sample = (path: string) => path.replace(/\{[^}]+\}/g, (p) => p === '{id}' ? 'sq_x' : 'x')
  for (const [id, { path, method, op }] of operations) {
    if (op.requestBody === undefined) continue
    await put(app, 'x/x/x', report())
    const bare = await app.inject({ method: method.toUpperCase() as 'POST', url: sample(path) })
    const refused = bare.statusCode === 400 && /invalid_json|validation_failed/.test(bare.json().code)
    t.equal(op.requestBody.required !== false, refused, `${id}: a bare request is ${refused ? 'refused' : 'accepted'}, and the body is ${op.requestBody.required === false ? 'optional' : 'required'}`)
  }
})
