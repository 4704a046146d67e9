/**
 * `/mcp` as an HTTP endpoint of the real service: tokens at the door, sessions (bound to their token, capped,
 * ended when idle), the store's degraded mode, metrics, the OpenAPI document, and a clean SIGTERM with a
 * client connected and a claim waiting.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { until } from './helper.js'
import { call, connect, mcpService, refusal, report, rest, TOKENS } from './mcp.js'
import { startService } from './child.js'

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } } }
const LIST_TOOLS = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }

/** One raw MCP POST, as a client without the SDK sends it. */
async function post (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body)
  })
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const metricsOf = async (url: string): Promise<string> => await (await fetch(`${url}/metrics`, { headers: bearer('r') })).text()

t.test('no token or an unknown one is a 401 problem before any MCP message', async (t) => {
  const svc = await mcpService(t)
  for (const headers of [{}, bearer('nope')]) {
    const res = await post(svc.url, INITIALIZE, headers)
    t.equal(res.status, 401)
    t.match(res.headers.get('content-type'), 'application/problem+json')
    t.match(res.headers.get('www-authenticate'), /^Bearer/)
    t.match(await res.json(), { code: 'unauthorized', status: 401 })
    t.equal(res.headers.get('mcp-session-id'), null, 'no session was opened')
  }
  await t.rejects(connect(t, 'http', svc.url, null), /401/, 'the SDK client is refused')
  t.match(await metricsOf(svc.url), /agent_state_mcp_sessions 0/)
})

t.test('a session is bound to its token; requests outside one, or to one that ended, are refused', async (t) => {
  const svc = await mcpService(t)
  const outside = await post(svc.url, LIST_TOOLS, bearer('w'))
  t.equal(outside.status, 400)
  t.match(await outside.json(), { code: 'bad_request', detail: /starts with an initialize request/ })

  const opened = await post(svc.url, INITIALIZE, bearer('w'))
  t.equal(opened.status, 200)
  const id = opened.headers.get('mcp-session-id') as string
  t.match(id, /^[0-9a-f-]{36}$/)
  t.ok(opened.headers.get('x-request-id'), 'the answer names its request, as every answer does')
  await opened.body?.cancel()

  const stranger = await post(svc.url, LIST_TOOLS, { ...bearer('a'), 'mcp-session-id': id })
  t.equal(stranger.status, 404, 'another token does not find the session, even an admin one')
  t.match(await stranger.json(), { code: 'not_found' })
  const owner = await post(svc.url, LIST_TOOLS, { ...bearer('w'), 'mcp-session-id': id })
  t.equal(owner.status, 200)
  t.match(await owner.text(), /"name":"get_status"/)

  const ended = await fetch(`${svc.url}/mcp`, { method: 'DELETE', headers: { ...bearer('w'), 'mcp-session-id': id } })
  t.equal(ended.status, 200)
  t.equal((await post(svc.url, LIST_TOOLS, { ...bearer('w'), 'mcp-session-id': id })).status, 404, 'an ended session is gone')
})

t.test('sessions are capped, and one left idle ends', async (t) => {
  const svc = await mcpService(t, { MCP_SESSIONS_MAX: '1', MCP_SESSION_IDLE_S: '1' })
  const first = await post(svc.url, INITIALIZE, bearer('r'))
  const id = first.headers.get('mcp-session-id') as string
  await first.body?.cancel()
  const second = await post(svc.url, INITIALIZE, bearer('r'))
  t.equal(second.status, 429)
  t.equal(second.headers.get('retry-after'), '5')
  t.match(await second.json(), { code: 'limit_reached', detail: /MCP_SESSIONS_MAX/ })
  // Nothing in flight and no stream open: the session ends after MCP_SESSION_IDLE_S (watched without touching it).
  await until('the idle session to end', async () => /agent_state_mcp_sessions 0/.test(await metricsOf(svc.url)))
  t.equal((await post(svc.url, LIST_TOOLS, { ...bearer('r'), 'mcp-session-id': id })).status, 404, 'it is gone')
  const third = await post(svc.url, INITIALIZE, bearer('r'))
  t.equal(third.status, 200, 'its place is free again')
  await third.body?.cancel()
})

t.test('while the store cannot take writes, read tools answer and write tools are refused, changing nothing', async (t) => {
  const dataDir = t.testdir()
  mkdirSync(join(dataDir, '.core'))
  writeFileSync(join(dataDir, '.core', 'db.duckdb'), 'this is not a DuckDB file '.repeat(200))
  const svc = await startService(t, { DATA_DIR: dataDir, AUTH_TOKENS: TOKENS, STORE_RETRY_S: '3600' })
  const w = await connect(t, 'http', svc.url, 'w')
  t.match((await call(w, 'get_status')).structuredContent, { total: 0 })
  t.match(refusal(await call(w, 'report_workspace', { workspace: 'core/r/one', ...report() })), /^503 store_unavailable: /)
  t.equal((await rest(svc.url, 'GET', '/v1/workspaces/core/r/one')).status, 404)
  t.match(refusal(await call(w, 'claim_work')), /^503 store_unavailable: /)
})

t.test('/mcp is in the metrics like any route, and in the OpenAPI document as one operation', async (t) => {
  const svc = await mcpService(t)
  const w = await connect(t, 'http', svc.url, 'w')
  await call(w, 'get_status')
  const metrics = await metricsOf(svc.url)
  t.match(metrics, /agent_state_http_requests_total\{method="POST",route="\/mcp",status_code="200"\} \d+/)
  t.match(metrics, /agent_state_mcp_sessions 1/)
  const doc = await (await fetch(`${svc.url}/openapi.json`)).json() as { paths: Record<string, Record<string, { operationId: string, description: string }>> }
  t.same(Object.keys(doc.paths['/mcp'] ?? {}), ['post'])
  t.match(doc.paths['/mcp']?.post, { operationId: 'mcp', description: /Mcp-Session-Id/ })
})

t.test('SIGTERM with a session open and a claim waiting: the claim is answered, the service exits 0', async (t) => {
  // A close that waited for the claim (60 s) or for the session's open stream would run past the grace and exit 1.
  const svc = await mcpService(t, { CLOSE_GRACE_MS: '20000' })
  const w = await connect(t, 'http', svc.url, 'w')
  const claim = call(w, 'claim_work', { pool: 'idle', wait_s: 60 })
  await until('the claim to wait', async () => /agent_state_claim_waiters 1/.test(await metricsOf(svc.url)))
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0)
  t.same((await claim).structuredContent, {}, 'the waiting claim was answered: nothing claimed')
  t.match(svc.logs.at(-1), { msg: /^closed:/ })
})
