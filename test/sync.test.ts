import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { backoffMs, retryAfterMs } from '../src/store/sync/sync-flusher.js'
import { build, rowCount, storedGroup, until } from './helper.js'

/** What the scripted upstream does with one request: answer, never answer, or cut the connection. */
type Answer = { status: number, headers?: Record<string, string>, body?: string } | 'hang' | 'reset'

interface Received {
  headers: IncomingHttpHeaders
  body: { agent_id: string, dispatches: unknown[] }
  /** performance.now() when the request arrived. */
  at: number
  /** Date.now() then, to compare with the times the service stamps. */
  wall: number
}

/** A real HTTP server on loopback that plays `script` (200 once it runs out) and records every request. */
async function upstream (t: Test, script: Answer[] = []) {
  const requests: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()), at: performance.now(), wall: Date.now() })
      const answer = script.shift() ?? { status: 200 }
      if (answer === 'hang') return
      if (answer === 'reset') return req.socket.destroy()
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/v1/agent/sync`, requests, script }
}

const charon = (n = 1) => ({ agent_id: 'charon', dispatches: [{ workspace: `core/go-io/task-${n}`, status: 'completed' }] })

const enqueue = (app: FastifyInstance, body: unknown = charon(), headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/sync/queue', payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })

const get = async (app: FastifyInstance, url: string) => (await app.inject({ url })).json()
const queued = async (app: FastifyInstance) => (await get(app, '/v1/sync/queue')).items as Array<Record<string, unknown>>
const dead = async (app: FastifyInstance) => (await get(app, '/v1/sync/dead')).items as Array<Record<string, unknown>>
const status = (app: FastifyInstance) => get(app, '/v1/sync/status')

interface SyncEvent { type: string, subject: string, data: { action: string, attempts?: number, error?: string, next_attempt_at?: string | null, from?: string, by?: string } }
/** The event log as stored (the app must be closed): failed attempts are read here rather than caught in flight. */
const storedEvents = async (dataDir: string) => [...(await storedGroup(dataDir, 'event')).values()] as SyncEvent[]

const keys = (requests: Received[]) => requests.map((r) => r.headers['idempotency-key'])
const gaps = (requests: Received[]) => requests.slice(1).map((r, i) => r.at - (requests[i] as Received).at)
// Timers may fire up to a millisecond early against performance.now(); lower bounds only, never upper.
const SLACK_MS = 2

t.test('the backoff schedule and Retry-After parsing', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffMs(n, 1000)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
  const now = Date.parse('2026-01-01T00:00:00Z')
  t.equal(retryAfterMs('3', now), 3000)
  t.equal(retryAfterMs(' 0 ', now), 0)
  t.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000)
  t.equal(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0, 'a date in the past means now')
  t.equal(retryAfterMs('999999', now), 3600000, 'capped at an hour')
  t.equal(retryAfterMs(null, now), undefined)
  t.equal(retryAfterMs('soon', now), undefined)
  t.equal(retryAfterMs('1.5', now), undefined)
})

t.test("the original change's case: one push for charon is stored, read back, and an emptied queue leaves the group empty", async (t) => {
  const { app, dataDir } = await build(t)
  const res = await enqueue(app)
  t.equal(res.statusCode, 202)
  t.equal(res.headers['x-store'], 'ok')
  const accepted = res.json()
  t.match(accepted, { id: /^sq_[A-Za-z0-9_-]{16}$/, queued_at: String, attempts: 0 })
  t.same(Object.keys(accepted).sort(), ['attempts', 'id', 'queued_at'])
  const [item] = await queued(app)
  t.same(item, { id: accepted.id, agent_id: 'charon', dispatches: charon().dispatches, queued_at: accepted.queued_at, attempts: 0, next_attempt_at: null, last_error: null })
  t.same(await status(app), { queued: 1, dead: 0, last_push_at: null, last_error: null, upstream_configured: false })
  await app.close()

  const stored = await storedGroup(dataDir, 'sync_queue')
  t.equal(stored.size, 1, 'persisted to the sync_queue group')
  t.match([...stored.values()][0], { id: accepted.id, agent_id: 'charon', dispatches: [{ workspace: 'core/go-io/task-1', status: 'completed' }] })

  const again = await build(t, {}, { dataDir })
  t.same(await queued(again.app), [item], 'read back after a restart')
  t.type(again.app.service.recovery.report.timings_ms.hydrate_sync, 'number', 'hydration is a timed start-up step')
  const cleared = await again.app.inject({ method: 'DELETE', url: '/v1/sync/queue' })
  t.same(cleared.json(), { dropped: 1 })
  t.same(await queued(again.app), [])
  await again.app.close()
  t.equal(await rowCount(dataDir, 'sync_queue'), 0, 'no rows behind, not even tombstones')
})

t.test('delivery: head of line, with the token, the item id as Idempotency-Key and exactly {agent_id, dispatches}', async (t) => {
  const up = await upstream(t)
  const { app, dataDir } = await build(t, { SYNC_URL: up.url, SYNC_TOKEN: 'up-secret' })
  const a = (await enqueue(app, { ...charon(1), fleet_node_id: 7 })).json()
  const b = (await enqueue(app, charon(2))).json()
  await until('both are delivered', async () => (await status(app)).queued === 0 && up.requests.length === 2)
  t.same(keys(up.requests), [a.id, b.id], 'in order, one request each')
  for (const r of up.requests) {
    t.equal(r.headers.authorization, 'Bearer up-secret')
    t.equal(r.headers['content-type'], 'application/json')
  }
  t.same(up.requests.map((r) => r.body), [charon(1), charon(2)], 'fleet_node_id stays here')
  const s = await status(app)
  t.match(s, { queued: 0, dead: 0, last_error: null, upstream_configured: true })
  t.ok(Date.parse(s.last_push_at) >= Date.parse(b.queued_at))
  await app.close()
  t.equal(await rowCount(dataDir, 'sync_queue'), 0)
  const events = await storedEvents(dataDir)
  for (const id of [a.id, b.id]) {
    t.same(events.filter((e) => e.subject === id).map((e) => [e.type, e.data.action]), [['sync', 'queued'], ['sync', 'delivered']], 'one event per change')
  }
})

t.test('failures are retried with backoff, head of line, until one succeeds', async (t) => {
  const up = await upstream(t, [{ status: 500, body: 'boom' }, 'reset', { status: 503 }, { status: 200 }])
  const base = 100
  const { app } = await build(t, { SYNC_URL: up.url }, { syncBackoffBaseMs: base })
  const a = (await enqueue(app, charon(1))).json()
  const b = (await enqueue(app, charon(2))).json()
  await until('both are delivered', async () => (await status(app)).queued === 0 && up.requests.length === 5)
  t.same(keys(up.requests), [a.id, a.id, a.id, a.id, b.id], 'b waited behind a')
  const [g1, g2, g3] = gaps(up.requests) as [number, number, number]
  t.ok(g1 >= base - SLACK_MS, `first retry after ≥ ${base} ms (${g1.toFixed(0)})`)
  t.ok(g2 >= 2 * base - SLACK_MS, `second after ≥ ${2 * base} ms (${g2.toFixed(0)})`)
  t.ok(g3 >= 4 * base - SLACK_MS, `third after ≥ ${4 * base} ms (${g3.toFixed(0)})`)
  t.same(new Set(up.requests.slice(0, 4).map((r) => JSON.stringify(r.body))).size, 1, 'every retry sends the same body')
  t.match(await status(app), { queued: 0, dead: 0, last_error: null })
})

t.test('a 429 with Retry-After is waited out', async (t) => {
  const up = await upstream(t, [{ status: 429, headers: { 'retry-after': '2' }, body: 'slow down' }])
  const { app, dataDir } = await build(t, { SYNC_URL: up.url }, { syncBackoffBaseMs: 10 })
  const a = (await enqueue(app)).json()
  await until('it is delivered', async () => (await status(app)).queued === 0)
  t.equal(up.requests.length, 2)
  t.ok((gaps(up.requests)[0] as number) >= 2000 - SLACK_MS, 'the retry waited the 2 s upstream asked for, not the 10 ms backoff')
  await app.close()
  const [, retry, delivered] = await storedEvents(dataDir)
  t.match(retry, { subject: a.id, data: { action: 'retry', attempts: 1, error: 'HTTP 429: slow down' } })
  t.ok(Date.parse(retry?.data.next_attempt_at as string) >= (up.requests[0] as Received).wall + 2000 - SLACK_MS, 'next_attempt_at follows Retry-After')
  t.match(delivered, { subject: a.id, data: { action: 'delivered', attempts: 2 } })
})

t.test('a delivery that hangs times out, a cut connection fails, and both are retried', async (t) => {
  const up = await upstream(t, ['hang', 'reset'])
  const { app, dataDir } = await build(t, { SYNC_URL: up.url, SYNC_TIMEOUT_MS: '300' }, { syncBackoffBaseMs: 10 })
  await enqueue(app)
  await until('it is delivered', async () => (await status(app)).queued === 0)
  t.equal(up.requests.length, 3)
  await app.close()
  const retries = (await storedEvents(dataDir)).filter((e) => e.data.action === 'retry')
  t.match(retries.map((e) => e.data), [{ attempts: 1, error: 'timeout after 300 ms' }, { attempts: 2, error: /^network error: / }])
})

t.test('a 400 is a dead letter at once; an admin can replay it, under the same id', async (t) => {
  const up = await upstream(t, [{ status: 400, body: '{"error":"unknown workspace"}' }])
  const { app } = await build(t, { SYNC_URL: up.url, AUTH_TOKENS: 'reader-token-0001:read,writer-token-0001:write,admin-token-00001:admin' }, { syncBackoffBaseMs: 10 })
  const headers = (token: string) => ({ authorization: `Bearer ${token}` })
  const a = (await enqueue(app, charon(), headers('writer-token-0001'))).json()
  const listDead = async () => (await app.inject({ url: '/v1/sync/dead', headers: headers('reader-token-0001') })).json().items as Array<Record<string, unknown>>
  await until('it is a dead letter', async () => (await listDead()).length === 1)
  t.equal(up.requests.length, 1, 'not retried')
  const [letter] = await listDead()
  t.match(letter, { id: a.id, agent_id: 'charon', attempts: 1, next_attempt_at: null, last_error: 'HTTP 400: {"error":"unknown workspace"}', dead_at: String })
  t.match((await app.inject({ url: '/v1/sync/status', headers: headers('reader-token-0001') })).json(), { queued: 0, dead: 1 })

  const replay = (token: string, id = a.id) => app.inject({ method: 'POST', url: `/v1/sync/dead/${id}/replay`, headers: headers(token) })
  t.equal((await replay('writer-token-0001')).statusCode, 403, 'replay needs admin')
  t.equal((await replay('admin-token-00001', 'sq_nope')).statusCode, 404)
  const replayed = await replay('admin-token-00001')
  t.equal(replayed.statusCode, 202)
  t.match(replayed.json(), { id: a.id, attempts: 0, last_error: null, next_attempt_at: null })
  t.notOk('dead_at' in replayed.json())
  await until('it is delivered', async () => up.requests.length === 2 && (await app.inject({ url: '/v1/sync/status', headers: headers('reader-token-0001') })).json().queued === 0)
  t.same(keys(up.requests), [a.id, a.id])
  t.same(await listDead(), [])
  t.equal((await replay('admin-token-00001')).statusCode, 404, 'no longer a dead letter')
})

t.test('after SYNC_MAX_ATTEMPTS failures the item is a dead letter with its last error, and the next item goes on', async (t) => {
  const up = await upstream(t, [{ status: 502 }, { status: 503, body: 'maintenance' }])
  const { app, dataDir } = await build(t, { SYNC_URL: up.url, SYNC_MAX_ATTEMPTS: '2' }, { syncBackoffBaseMs: 10 })
  const a = (await enqueue(app, charon(1))).json()
  const b = (await enqueue(app, charon(2))).json()
  await until('b is delivered', async () => up.requests.length === 3 && (await status(app)).queued === 0)
  t.same(keys(up.requests), [a.id, a.id, b.id])
  t.match(await dead(app), [{ id: a.id, attempts: 2, last_error: 'HTTP 503: maintenance' }])
  await app.close()
  t.same([...(await storedGroup(dataDir, 'sync_dead')).values()].map((d) => (d as { id: string }).id), [a.id], 'dead letters are stored')
  const again = await build(t, {}, { dataDir })
  t.match(await dead(again.app), [{ id: a.id, attempts: 2 }], 'and survive a restart')
})

t.test('a restart in the middle of the queue loses nothing, keeps the order and resends the item in flight', async (t) => {
  const up = await upstream(t, [{ status: 200 }, 'hang'])
  // Queued while no upstream is configured: the items wait.
  const first = await build(t)
  const ids: string[] = []
  for (let i = 1; i <= 4; i++) ids.push((await enqueue(first.app, charon(i), i === 3 ? { 'idempotency-key': 'third' } : {})).json().id)
  await first.app.close()

  const second = await build(t, { SYNC_URL: up.url }, { dataDir: first.dataDir, syncBackoffBaseMs: 10 })
  await until('the second item is in flight', () => up.requests.length === 2)
  const t0 = performance.now()
  await second.app.close()
  t.ok(performance.now() - t0 < 5000, 'close does not wait for the hanging delivery')
  t.same([...(await storedGroup(first.dataDir, 'sync_queue')).values()].map((v) => (v as { id: string }).id), ids.slice(1), 'the first is gone, the rest wait in order')

  const third = await build(t, { SYNC_URL: up.url }, { dataDir: first.dataDir, syncBackoffBaseMs: 10 })
  t.equal((await enqueue(third.app, charon(3), { 'idempotency-key': 'third' })).json().id, ids[2], 'the idempotency key survived too')
  await until('the queue is drained', async () => (await status(third.app)).queued === 0)
  t.same(keys(up.requests), [ids[0], ids[1], ids[1], ids[2], ids[3]], 'the item in flight was sent again, under the same key')
  await third.app.close()
  t.equal(await rowCount(first.dataDir, 'sync_queue'), 0)
})

t.test('Idempotency-Key: a repeat answers the first item, also after a restart and after delivery', async (t) => {
  const { app, dataDir } = await build(t)
  const key = { 'idempotency-key': 'report-42' }
  const firstRes = await enqueue(app, charon(1), key)
  const repeat = await enqueue(app, charon(1), key)
  t.equal(repeat.statusCode, 202)
  t.same(repeat.json(), firstRes.json(), 'the same body')
  t.equal(repeat.headers['idempotent-replayed'], 'true')
  t.notOk(firstRes.headers['idempotent-replayed'])
  const other = await enqueue(app, charon(1), { 'idempotency-key': 'report-43' })
  t.not(other.json().id, firstRes.json().id)
  t.equal((await enqueue(app, charon(1))).statusCode, 202, 'no key, no deduplication')
  t.equal((await queued(app)).length, 3)
  t.match(await queued(app), [{ idempotency_key: 'report-42' }, { idempotency_key: 'report-43' }, {}])

  for (const bad of ['x'.repeat(201), 'tab\there', 'é']) {
    const res = await enqueue(app, charon(), { 'idempotency-key': bad })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { code: 'validation_failed', errors: [{ field: 'header.idempotency-key' }] })
  }
  await app.close()

  const up = await upstream(t)
  const again = await build(t, { SYNC_URL: up.url }, { dataDir })
  t.same((await enqueue(again.app, charon(1), key)).json(), firstRes.json(), 'remembered across a restart')
  await until('the queue is drained', async () => (await status(again.app)).queued === 0)
  t.equal(up.requests.length, 3)
  t.same((await enqueue(again.app, charon(1), key)).json(), firstRes.json(), 'remembered after delivery')
  t.equal((await status(again.app)).queued, 0, 'and nothing new was queued')
  t.equal(up.requests.length, 3)
  await again.app.close()
  t.equal(await rowCount(dataDir, 'sync_queue'), 0)
  t.same([...(await storedGroup(dataDir, 'sync_keys')).keys()].sort(), ['report-42', 'report-43'], 'delivered keys are remembered for a while')
})

t.test('the key of a departed item is remembered for 24 hours, then forgotten', async (t) => {
  let now = Date.parse('2026-03-01T00:00:00Z')
  const clock = () => new Date(now)
  const key = { 'idempotency-key': 'once' }
  const { app, dataDir } = await build(t, {}, { clock })
  const first = (await enqueue(app, charon(), key)).json()
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/sync/queue/${first.id}` })).statusCode, 204)
  now += 23 * 3600 * 1000
  t.same((await enqueue(app, charon(), key)).json(), first, 'a dropped item still answers its key')
  t.equal((await status(app)).queued, 0)
  await app.close()

  now += 2 * 3600 * 1000
  const again = await build(t, {}, { dataDir, clock })
  await again.app.close()
  t.equal(await rowCount(dataDir, 'sync_keys'), 0, 'the expired key left the store at start-up')
  const third = await build(t, {}, { dataDir, clock })
  const fresh = (await enqueue(third.app, charon(), key)).json()
  t.not(fresh.id, first.id, 'the key now queues a new item')
})

t.test('while an item waits, the queue shows its attempts and last error; flush skips the wait; without SYNC_URL flush is a 409', async (t) => {
  const off = await build(t)
  const res = await off.app.inject({ method: 'POST', url: '/v1/sync/flush' })
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'upstream_not_configured')

  // Retry-After of ten minutes: the state can be read at leisure, and only the flush can end the wait.
  const up = await upstream(t, [{ status: 503, headers: { 'retry-after': '600' }, body: 'maintenance' }])
  const { app } = await build(t, { SYNC_URL: up.url }, { syncBackoffBaseMs: 10 })
  const a = (await enqueue(app)).json()
  await until('the first attempt is recorded', async () => (await queued(app))[0]?.attempts === 1)
  const [item] = await queued(app)
  t.match(item, { id: a.id, attempts: 1, last_error: 'HTTP 503: maintenance' })
  t.ok(Date.parse(item?.next_attempt_at as string) >= (up.requests[0] as Received).wall + 600000 - SLACK_MS)
  t.match(await status(app), { queued: 1, dead: 0, last_push_at: null, last_error: 'HTTP 503: maintenance' })
  const flushed = await app.inject({ method: 'POST', url: '/v1/sync/flush' })
  t.equal(flushed.statusCode, 202)
  t.match(flushed.json(), { queued: 1, upstream_configured: true })
  await until('it is delivered', async () => (await status(app)).queued === 0)
  t.equal(up.requests.length, 2)
  t.match(await status(app), { last_error: null, last_push_at: String })
})

t.test('admin drops: one item, one dead letter, 404 for unknown ids; each is an event with the caller', async (t) => {
  // A redirect is not followed (it would carry the token elsewhere): like a 4xx, it makes a dead letter.
  const up = await upstream(t, [{ status: 308, headers: { location: 'http://127.0.0.1:9/elsewhere' } }])
  const { app, dataDir } = await build(t, { SYNC_URL: up.url, AUTH_TOKENS: 'writer-token-0001:write,admin-token-00001:admin' })
  const admin = { authorization: 'Bearer admin-token-00001' }
  const d = (await enqueue(app, charon(1), admin)).json()
  await until('it is a dead letter', async () => (await app.inject({ url: '/v1/sync/status', headers: admin })).json().dead === 1)
  t.equal(up.requests.length, 1)
  t.match((await app.inject({ url: '/v1/sync/dead', headers: admin })).json().items, [{ id: d.id, last_error: 'HTTP 308' }])

  // Hold the next items: a fresh app without upstream over the same data.
  await app.close()
  const again = await build(t, { AUTH_TOKENS: 'writer-token-0001:write,admin-token-00001:admin' }, { dataDir })
  const q = (await enqueue(again.app, charon(2), admin)).json()
  const drop = (url: string, token = 'admin-token-00001') => again.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${token}` } })
  t.equal((await drop(`/v1/sync/queue/${q.id}`, 'writer-token-0001')).statusCode, 403)
  t.equal((await drop('/v1/sync/queue', 'writer-token-0001')).statusCode, 403)
  t.equal((await drop(`/v1/sync/queue/${d.id}`)).statusCode, 404, 'a dead letter is not in the queue')
  t.equal((await drop(`/v1/sync/dead/${q.id}`)).statusCode, 404, 'a queued item is not a dead letter')
  const gone = await drop(`/v1/sync/queue/${q.id}`)
  t.equal(gone.statusCode, 204)
  t.equal(gone.headers['x-store'], 'ok')
  t.equal((await drop(`/v1/sync/queue/${q.id}`)).statusCode, 404)
  t.equal((await drop(`/v1/sync/dead/${d.id}`)).statusCode, 204)
  t.match((await again.app.inject({ url: '/v1/sync/status', headers: admin })).json(), { queued: 0, dead: 0 })
  await again.app.close()
  t.equal(await rowCount(dataDir, 'sync_queue'), 0)
  t.equal(await rowCount(dataDir, 'sync_dead'), 0)
  const events = await storedEvents(dataDir)
  t.same(events.map((e) => [e.subject, e.data.action]), [[d.id, 'queued'], [d.id, 'dead'], [q.id, 'queued'], [q.id, 'dropped'], [d.id, 'dropped']])
  t.match(events.at(-1)?.data, { from: 'dead', by: /^token:/ })
})

t.test('bad pushes are 400s listing each field; lists page with a cursor', async (t) => {
  const { app } = await build(t)
  const cases: Array<[unknown, string]> = [
    [{ ...charon(), extra: 1 }, 'body.extra'],
    [{ dispatches: [{}] }, 'body.agent_id'],
    [{ agent_id: 'charon', dispatches: [] }, 'body.dispatches'],
    [{ agent_id: 'charon', dispatches: ['done'] }, 'body.dispatches.0'],
    [{ agent_id: 'charon', dispatches: Array.from({ length: 1001 }, () => ({})) }, 'body.dispatches'],
    [{ ...charon(), fleet_node_id: -1 }, 'body.fleet_node_id']
  ]
  for (const [body, field] of cases) {
    const res = await enqueue(app, body)
    t.equal(res.statusCode, 400, field)
    t.match(res.json(), { code: 'validation_failed', errors: [{ field }] })
  }
  t.equal((await status(app)).queued, 0)

  const ids: string[] = []
  for (let i = 1; i <= 3; i++) ids.push((await enqueue(app, charon(i))).json().id)
  const page1 = await get(app, '/v1/sync/queue?limit=2')
  t.same(page1.items.map((i: { id: string }) => i.id), ids.slice(0, 2))
  const page2 = await get(app, `/v1/sync/queue?limit=2&cursor=${page1.next_cursor}`)
  t.same(page2.items.map((i: { id: string }) => i.id), ids.slice(2))
  t.equal(page2.next_cursor, null)
  t.equal((await app.inject({ url: '/v1/sync/dead?cursor=nope' })).json().code, 'invalid_cursor')
})
