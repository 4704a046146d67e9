/**
 * Fault suite, connections and file descriptors (issue 21, case 5): a real service process under a low
 * `ulimit -n`. Idle connections used to take every descriptor, and the next buffer aborted the process
 * inside DuckDB (SIGABRT); a slow sender held its connection for up to three times the documented timeout.
 * Also Node's own refusals (issue 21, case 11), which never reach Fastify: problem+json too.
 */
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { startService, type Service } from './child.js'
import { call } from './faults.js'
import { connectionCap } from '../src/boot/http/connections.js'
import { fileReserve, parseOpenFilesLimit } from '../src/store/core/descriptors.js'
import { until } from './helper.js'

/** Opens a raw connection; `closed` resolves with what the server sent once it closes the connection. */
function rawSocket (url: string): { socket: Socket, closed: Promise<string>, isClosed: () => boolean } {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  let data = ''
  let done = false
  socket.on('data', (d: Buffer) => { data += d.toString() })
  socket.on('error', () => {})
  const closed = new Promise<string>((resolve) => socket.on('close', () => { done = true; resolve(data) }))
  return { socket, closed, isClosed: () => done }
}

/** Status line, headers and parsed body of a raw HTTP answer. */
function parseAnswer (raw: string): { status: number, headers: Record<string, string>, body: Record<string, unknown> } {
  const [head = '', body = ''] = raw.split('\r\n\r\n')
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  let parsed: Record<string, unknown> = {}
  try { parsed = JSON.parse(body) as Record<string, unknown> } catch {}
  return { status: Number(statusLine.split(' ')[1]), headers, body: parsed }
}

const LIMIT = 256

t.test('the soft limit is the one read, and the split between connections and files follows it', async (t) => {
  const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 1048576              files\n'
  t.equal(parseOpenFilesLimit(limits), 1024, 'the soft limit, which EMFILE follows')
  t.equal(parseOpenFilesLimit(limits.replace('1024  ', 'unlimited')), Infinity)
  t.equal(parseOpenFilesLimit(''), Infinity, 'unknown: nothing is capped')
  t.equal(fileReserve(64), 270, 'the default reserve: 64 buffers, two exports, a backup, the headroom')
  t.same(connectionCap(1024, 22, 64), { connections: 732, reserve: 270, wanted: 270 }, 'ulimit -n 1024: connections get what files do not need')
  t.same(connectionCap(256, 22, 64), { connections: 117, reserve: 117, wanted: 270 }, 'a low limit: half each')
  t.equal(connectionCap(1_048_576, 30, 64).connections, 1_048_576 - 30 - 270)
})

t.test('idle connections cannot take the descriptors DuckDB needs: the cap closes the extra ones, buffers get 503, the service goes on', async (t) => {
  const dataDir = t.testdir()
  // BUFFERS_MAX_OPEN above what the descriptors allow, so the descriptor reserve is what refuses; the long
  // timeout keeps the idle connections for the whole test.
  const svc: Service = await startService(t, { DATA_DIR: dataDir, BUFFERS_MAX_OPEN: '200', REQUEST_TIMEOUT_S: '300' }, undefined, { openFiles: LIMIT })
  const capLine = svc.logs.find((l) => typeof l.connections === 'number')
  t.ok(capLine, 'start-up logs the connection cap it derived from the descriptor limit')
  const cap = Number(capLine?.connections)
  t.ok(cap > 0 && cap < LIMIT - 64, `the cap (${cap}) leaves descriptors for the store`)

  // More idle connections than the limit could hold (no token needed to open one).
  const idle = Array.from({ length: LIMIT - 16 }, () => rawSocket(svc.url))
  await until('the connections past the cap are closed by the service', () => idle.filter((s) => s.isClosed()).length >= idle.length - cap, 60_000)
  // Two held ones go, which makes room for this test's own requests.
  for (const s of idle.filter((s) => !s.isClosed()).slice(0, 2)) s.socket.destroy()

  let created = 0
  let refused = await call(svc.url, 'POST', '/v1/buffers', { name: 'b-0' })
  await until('a connection is accepted again', async () => {
    if (refused.status === 0) refused = await call(svc.url, 'POST', '/v1/buffers', { name: 'b-0' })
    return refused.status !== 0
  })
  while (refused.status === 201) {
    created++
    refused = await call(svc.url, 'POST', '/v1/buffers', { name: `b-${created}` })
  }
  t.ok(created > 0, `${created} buffers opened while descriptors were free`)
  t.equal(refused.status, 503, 'then a buffer is refused before it opens anything')
  t.match(refused.body, { code: 'descriptors_low', detail: /file descriptors are in use/ })
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with Retry-After')
  t.match(refused.headers.get('content-type'), /application\/problem\+json/)

  // The process is alive and keeps serving: writes are stored, reads answer, an export is refused the same way.
  t.equal(svc.proc.exitCode, null)
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/core/fd/one', { status: 'running', agent: 'codex:m', runs: 1 })).status, 201)
  t.equal((await call(svc.url, 'GET', '/v1/workspaces/core/fd/one')).status, 200)
  t.match((await call(svc.url, 'GET', '/v1/export/runs')).body, { code: 'descriptors_low' })
  t.equal((await call(svc.url, 'POST', '/v1/buffers/b-0/entries', { kind: 'finding', data: { file: 'a.go' } })).status, 201, 'an open buffer still takes entries')
  t.equal((await call(svc.url, 'POST', '/v1/buffers/b-0/commit')).status, 200, 'and commits')
  for (let i = 1; i <= 3; i++) t.equal((await call(svc.url, 'DELETE', `/v1/buffers/b-${i}`)).status, 204)
  t.equal((await call(svc.url, 'POST', '/v1/buffers', { name: 'b-again' })).status, 201, 'closed buffers give their descriptors back')

  for (const s of idle) s.socket.destroy()
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0, 'and it stops cleanly')
})

t.test('a slow sender is cut at REQUEST_TIMEOUT_S with a 408 problem, whether idle, mid-headers or mid-body', async (t) => {
  const svc = await startService(t, { DATA_DIR: t.testdir(), REQUEST_TIMEOUT_S: '2' })
  const started = Date.now()
  const idle = rawSocket(svc.url)
  const headers = rawSocket(svc.url)
  headers.socket.write('PUT /v1/workspaces/core/slow/one HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  const body = rawSocket(svc.url)
  body.socket.write('PUT /v1/workspaces/core/slow/two HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{')
  // A byte every 200 ms: never idle, never done.
  const trickle = setInterval(() => body.socket.write(' '), 200)
  t.teardown(() => clearInterval(trickle))

  for (const [what, s] of [['idle', idle], ['mid-headers', headers], ['mid-body', body]] as const) {
    const answer = parseAnswer(await s.closed)
    // Node's default check every 30 s cut these after 30 to 60 s; generous against a loaded machine, far below that.
    t.ok(Date.now() - started < 20_000, `${what}: cut well before Node's 30 s check would`)
    t.equal(answer.status, 408, `${what}: 408`)
    t.match(answer.headers, { 'content-type': 'application/problem+json', connection: 'close' })
    t.match(answer.body, { code: 'request_timeout', type: '/problems/request_timeout', status: 408 })
    t.equal(answer.body.request_id, answer.headers['x-request-id'])
  }
  clearInterval(trickle)
  t.equal((await call(svc.url, 'GET', '/v1/workspaces/core/slow/two')).status, 404, 'the cut request changed nothing')
})

t.test('requests the HTTP server cannot read are problem+json with Connection: close', async (t) => {
  const svc = await startService(t, { DATA_DIR: t.testdir() })
  const garbled = rawSocket(svc.url)
  garbled.socket.write('HELLO /\r\n\r\n')
  const bad = parseAnswer(await garbled.closed)
  t.equal(bad.status, 400)
  t.match(bad.headers, { 'content-type': 'application/problem+json', connection: 'close' })
  t.match(bad.body, { code: 'bad_request', status: 400, title: 'Bad Request' })

  const large = rawSocket(svc.url)
  large.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`)
  const big = parseAnswer(await large.closed)
  t.equal(big.status, 431)
  t.match(big.headers, { 'content-type': 'application/problem+json', connection: 'close' })
  t.match(big.body, { code: 'headers_too_large', status: 431 })
  t.equal((await call(svc.url, 'GET', '/problems/headers_too_large')).status, 200, 'the type resolves')
})
