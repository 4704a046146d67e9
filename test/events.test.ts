import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { ChangeEvent } from '../src/store/events/model.js'
import { build, json, put, report } from './helper.js'

interface Frame {
  id?: string
  event?: string
  data?: string
  comment?: string
}

/** An SSE client over a real socket (fetch); every wait is bounded and the fetch is always aborted. */
class SseClient {
  readonly frames: Frame[] = []
  ended = false
  readonly #ac = new AbortController()
  #buf = ''

  static async open (t: Test, url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient()
    t.teardown(() => client.close())
    const timer = setTimeout(() => client.close(), 5000)
    const res = await fetch(url, { headers, signal: client.#ac.signal })
    clearTimeout(timer)
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /^text\/event-stream/)
    void client.#read(res.body as ReadableStream<Uint8Array>)
    return client
  }

  /** The events received, parsed. */
  get events (): ChangeEvent[] {
    return this.frames.filter((f) => f.data !== undefined).map((f) => JSON.parse(f.data as string) as ChangeEvent)
  }

  async #read (body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder()
    try {
      for await (const chunk of body) {
        this.#buf += decoder.decode(chunk, { stream: true })
        for (let end = this.#buf.indexOf('\n\n'); end >= 0; end = this.#buf.indexOf('\n\n')) {
          const frame: Frame = {}
          for (const line of this.#buf.slice(0, end).split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim()
            else {
              const at = line.indexOf(': ')
              frame[line.slice(0, at) as 'id' | 'event' | 'data'] = line.slice(at + 2)
            }
          }
          this.frames.push(frame)
          this.#buf = this.#buf.slice(end + 2)
        }
      }
    } catch {
      // Aborted by close(): the end of this client.
    } finally {
      this.ended = true
    }
  }

  /** Waits until `check` holds, at most `ms`. */
  async until (check: () => boolean, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms
    while (!check() && Date.now() < deadline) await sleep(20)
    return check()
  }

  close (): void { this.#ac.abort() }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function listen (app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

const queued = (n: number) => report({ status: 'queued', runs: 0, task: `task ${n}` })

t.test('live events arrive as SSE messages with growing ids; the route needs the read scope', async (t) => {
  const { app } = await build(t, { AUTH_TOKENS: 'reader-token-0001:read,writer-token-0001:write' })
  const base = await listen(app)
  t.equal((await app.inject({ url: '/v1/events' })).statusCode, 401)
  const client = await SseClient.open(t, `${base}/v1/events`, { authorization: 'Bearer reader-token-0001' })
  const write = { authorization: 'Bearer writer-token-0001' }
  for (let i = 1; i <= 3; i++) await put(app, `core/a/t${i}`, queued(i), write)
  await put(app, 'core/a/t1', report({ status: 'running', runs: 1 }), write)
  t.ok(await client.until(() => client.frames.length >= 4), 'four changes, four messages')
  const ids = client.frames.map((f) => Number(f.id))
  t.same(ids, [...ids].sort((a, b) => a - b), 'ids grow')
  t.equal(new Set(ids).size, 4)
  t.same(client.frames.map((f) => f.event), ['workspace', 'workspace', 'workspace', 'workspace'])
  t.same(client.events.map((e) => e.id), ids, 'the message id is the event id')
  t.match(client.events[3], { type: 'workspace', subject: 'core/a/t1', data: { action: 'updated', status: 'running', runs: 1 } })
  t.ok(client.events.every((e) => typeof e.at === 'string'))
})

t.test('?type= keeps only the listed types; an unknown type is a 400 problem', async (t) => {
  const { app } = await build(t)
  const base = await listen(app)
  const backoff = await SseClient.open(t, `${base}/v1/events?type=backoff,config`)
  const everything = await SseClient.open(t, `${base}/v1/events`)
  await put(app, 'core/a/t1', report())
  const set = await app.inject({ method: 'PUT', url: '/v1/pools/codex/backoff', ...json({ seconds: 60, reason: 'quota' }) })
  t.equal(set.statusCode, 200)
  await put(app, 'core/a/t2', report())
  t.ok(await everything.until(() => everything.frames.length >= 3))
  t.ok(await backoff.until(() => backoff.frames.length >= 1))
  await sleep(200)
  t.same(backoff.frames.map((f) => f.event), ['backoff'])
  t.match(backoff.events[0], { type: 'backoff', subject: 'codex', data: { action: 'set', reason: 'quota' } })

  const bad = await app.inject({ url: '/v1/events?type=workspace,nonsense' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(bad.json(), { code: 'validation_failed', errors: [{ field: 'query.type' }] })
  t.equal((await app.inject({ url: '/v1/events', headers: { 'last-event-id': 'yesterday' } })).statusCode, 400)
})

t.test('Last-Event-ID replays exactly the missed events from memory, then streams live', async (t) => {
  const { app } = await build(t)
  const base = await listen(app)
  const first = await SseClient.open(t, `${base}/v1/events`)
  for (let i = 1; i <= 3; i++) await put(app, `core/a/t${i}`, queued(i))
  t.ok(await first.until(() => first.frames.length >= 3))
  first.close()
  const seen = first.events
  for (let i = 4; i <= 5; i++) await put(app, `core/a/t${i}`, queued(i))
  const missed = app.service.events.recent.after((seen[2] as ChangeEvent).id)
  t.equal(missed.length, 2)

  const header = await SseClient.open(t, `${base}/v1/events`, { 'last-event-id': String((seen[2] as ChangeEvent).id) })
  const query = await SseClient.open(t, `${base}/v1/events?last_event_id=${(seen[1] as ChangeEvent).id}`)
  t.ok(await header.until(() => header.frames.length >= 2))
  t.ok(await query.until(() => query.frames.length >= 3))
  await sleep(200)
  t.same(header.events, missed, 'the header replays exactly the missed events')
  t.same(query.events, [seen[2], ...missed], '?last_event_id= does the same for curl')

  await put(app, 'core/a/t6', queued(6))
  t.ok(await header.until(() => header.frames.length >= 3), 'then live events follow')
  t.match(header.events[2], { subject: 'core/a/t6' })
  t.equal(header.events.length, 3, 'nothing twice')
})

t.test('after a restart, Last-Event-ID replays from the store, page after page', async (t) => {
  const { app, dataDir } = await build(t)
  // More than one replay page (500), written concurrently so group commit keeps it quick.
  await Promise.all(Array.from({ length: 520 }, (_, i) => put(app, `core/a/t${i}`, queued(i))))
  const stored = app.service.events.recent.after(0)
  t.equal(stored.length, 520)
  await app.close()

  const again = await build(t, {}, { dataDir })
  const base = await listen(again.app)
  const all = await SseClient.open(t, `${base}/v1/events`, { 'last-event-id': '0' })
  const tail = await SseClient.open(t, `${base}/v1/events`, { 'last-event-id': String((stored[517] as ChangeEvent).id) })
  t.ok(await all.until(() => all.frames.length >= 520, 10000))
  t.ok(await tail.until(() => tail.frames.length >= 2))
  await sleep(200)
  t.same(all.events, stored, 'every stored event, in order, once')
  t.same(tail.events, stored.slice(518), 'exactly the two after the id')

  await put(again.app, 'core/a/new', queued(0))
  t.ok(await tail.until(() => tail.frames.length >= 3))
  t.ok((tail.events[2] as ChangeEvent).id > (stored[519] as ChangeEvent).id, 'new ids continue above the stored ones')
})

t.test('a client that never reads is cut off once its queue is full; others keep receiving', async (t) => {
  const { app } = await build(t, { SSE_QUEUE_MAX: '10' })
  const base = await listen(app)
  const port = Number(new URL(base).port)
  const fast = await SseClient.open(t, `${base}/v1/events`)

  const slow = connect(port, '127.0.0.1')
  t.teardown(() => slow.destroy())
  let received = ''
  slow.setEncoding('utf8')
  slow.on('data', (chunk: string) => { received += chunk })
  const slowClosed = new Promise<boolean>((resolve) => {
    slow.once('close', () => resolve(true))
    setTimeout(() => resolve(false), 20000).unref()
  })
  slow.write('GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n')
  // Stop reading as soon as the headers arrive: the stream is open, and until resume() nothing more is read.
  await new Promise((resolve) => slow.once('data', resolve))
  slow.pause()

  // Loopback sockets buffer a few MB before the server sees backpressure, so the events are large: 150 × 64 KiB.
  const { events, writer } = app.service
  const big = 'x'.repeat(64 * 1024)
  for (let i = 0; i < 150; i++) {
    events.record('buffer', `qa-${i}`, { action: 'created', workspace: big }, new Date().toISOString())
    if (i % 10 === 9) await writer.commit()
  }
  t.ok(await fast.until(() => fast.frames.length >= 150, 15000), 'the reading client got every event')
  t.same(fast.events.map((e) => e.subject), Array.from({ length: 150 }, (_, i) => `qa-${i}`))

  // Reading again, the slow client finds what the kernel still held for it, then the end of the connection.
  slow.resume()
  t.ok(await slowClosed, 'the slow client was disconnected')
  const got = received.match(/^id: /gm)?.length ?? 0
  t.ok(got > 0 && got < 150, `it had received ${got} of 150 events when it was cut off`)
})

t.test('keep-alive comments arrive every SSE_KEEPALIVE_S', async (t) => {
  const { app } = await build(t, { SSE_KEEPALIVE_S: '1' })
  const client = await SseClient.open(t, `${await listen(app)}/v1/events`)
  t.ok(await client.until(() => client.frames.filter((f) => f.comment === 'keep-alive').length >= 2, 4000), 'two within 4 s')
  t.equal(client.events.length, 0)
})

t.test('closing the app ends open streams instead of waiting for them', async (t) => {
  const { app } = await build(t)
  const client = await SseClient.open(t, `${await listen(app)}/v1/events`)
  await put(app, 'core/a/t1', queued(1))
  t.ok(await client.until(() => client.frames.length >= 1))
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 3000, 'close did not wait for the stream')
  t.ok(await client.until(() => client.ended, 3000), 'the client saw the stream end')
})
