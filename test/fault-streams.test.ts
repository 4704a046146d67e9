/**
 * Fault suite, long-lived stream clients (issue 11, case 5): a real service with 100 `GET /v1/events`
 * clients, most of which never read, while a writer sends thousands of large reports. The service's memory
 * stays bounded and flat, the clients that never read are cut off (and catch up with Last-Event-ID), those
 * that read get every event in order, a client beyond EVENT_STREAMS_MAX gets a problem, and every
 * acknowledged write is there after a kill and a restart.
 */
import { readFileSync } from 'node:fs'
import { Agent, get, request, type IncomingMessage } from 'node:http'
import t from 'tap'
import { startService, type Service } from './child.js'
import { call } from './faults.js'

const MIB = 1024 * 1024
const STREAMS = 100
const READERS = 10
const WORKSPACES = 200
// A client that never reads stops the service's writes only once the kernel's socket buffers are full:
// about 4.5 MB on loopback (its 64 KiB MTU sizes the send buffer), 8,400 events of ~560 bytes (names and
// agents of the longest allowed) in a trial. 9,000 pass that.
const WRITES = 9000
const WRITERS = 32
// A large body, not stored in the event: what the writer sends, not what the streams carry.
const TASK = 't'.repeat(1000)
const LONG = 'x'.repeat(96)
const AGENT = `codex:${'m'.repeat(64)}`
// The service at rest holds DuckDB, the registry and the event ring; 100 streams and their queues must fit well under this.
const RSS_BOUND = 400 * MIB
// What the resident set may grow by between a fifth and the end of the writes. The store itself grows by about
// 40 MB over these writes with no stream open (DuckDB caches what it wrote, up to DB_MEMORY_LIMIT); memory kept
// per event per client, at a few hundred bytes, would add 200 MB over the 7,200 events in between.
const RSS_GROWTH = 96 * MIB

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024

interface Client {
  res: IncomingMessage
  ids: number[]
}

/** A stream client over real HTTP; a reader parses every `id:` line, a non-reader pauses once the headers are in. */
function connect (url: string, reads: boolean, lastEventId?: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId)
    const req = get(`${url}/v1/events`, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`))
      const client: Client = { res, ids: [] }
      if (!reads) {
        res.pause()
        return resolve(client)
      }
      let partial = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() as string
        for (const line of lines) if (line.startsWith('id: ')) client.ids.push(Number(line.slice(4)))
      })
      res.on('error', () => {})
      resolve(client)
    })
    req.on('error', reject)
  })
}

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * One write of the writer, answering its status (0 when the request failed). Over node:http with kept-alive
 * sockets rather than fetch: fetch spent 1.2 to 1.7 ms of CPU a request against 0.6 ms for this (1,000 PUTs each,
 * 32 at a time, load 18), and the 9,000 writes share the two cores with the service they measure.
 */
function put (agent: Agent, url: string, path: string, body: unknown): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { method: 'PUT', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(0))
      res.resume()
    })
    req.on('error', () => resolve(0))
    req.end(JSON.stringify(body))
  })
}

const openStreams = async (svc: Service): Promise<number> =>
  Number(/^agent_state_event_streams (\d+)$/m.exec(String((await call(svc.url, 'GET', '/metrics')).body))?.[1])

// The volume a stuck socket absorbs sets the run time: under a minute on a quiet 2-core machine, two on a busy one.
t.setTimeout(240_000)

t.test('100 stream clients, 90 never reading, 9,000 large writes: bounded memory, cut-offs, complete readers, no lost write', async (t) => {
  const dataDir = t.testdir()
  const env = { DATA_DIR: dataDir, ALLOW_OPEN: '1', EVENT_STREAMS_MAX: String(STREAMS), SSE_QUEUE_MAX: '100' }
  const svc = await startService(t, env)
  const pid = svc.proc.pid as number

  const clients: Client[] = []
  for (let i = 0; i < STREAMS; i++) clients.push(await connect(svc.url, i < READERS))
  const readers = clients.slice(0, READERS)
  t.teardown(() => { for (const c of clients) c.res.destroy() })
  t.equal(await openStreams(svc), STREAMS, 'the gauge counts every open stream')

  // One more than the bound: a problem with a stable code and a time to retry, and no stream.
  const over = await call(svc.url, 'GET', '/v1/events')
  t.equal(over.status, 429)
  t.match(over.body, { code: 'limit_reached', status: 429 })
  t.match(over.headers.get('content-type'), /^application\/problem\+json/)
  t.ok(Number(over.headers.get('retry-after')) > 0, 'Retry-After is set')
  t.equal(await openStreams(svc), STREAMS)

  // The writer: WRITERS workers, each owning its workspaces, so the last acknowledged note of each is known.
  const acked = new Map<string, string>()
  const writes = new Agent({ keepAlive: true, maxSockets: WRITERS })
  t.teardown(() => writes.destroy())
  let done = 0
  let refused = 0
  const rss: Array<[number, number]> = [[0, rssOf(pid)]]
  const worker = async (w: number): Promise<void> => {
    for (let i = w; i < WRITES; i += WRITERS) {
      const name = `core/${LONG}${i % WORKSPACES}/${LONG}${i % WORKSPACES}`
      const note = String(i)
      const status = await put(writes, svc.url, `/v1/workspaces/${name}`, { status: 'running', agent: AGENT, runs: 1, task: TASK, note })
      if (status === 200 || status === 201) acked.set(name, String(i))
      else refused++
      if (++done % (WRITES / 5) === 0) rss.push([done, rssOf(pid)])
    }
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => worker(w)))
  const writeS = (Date.now() - started) / 1000
  t.equal(refused, 0, 'every write was answered 2xx')
  writes.destroy()

  const peak = Math.max(...rss.map(([, r]) => r))
  const growth = (rss.at(-1) as [number, number])[1] - (rss[1] as [number, number])[1]
  t.comment(`RSS by writes done: ${rss.map(([n, r]) => `${n}: ${Math.round(r / MIB)} MB`).join(', ')}; ${WRITES} writes in ${writeS.toFixed(1)} s`)
  t.ok(peak < RSS_BOUND, `resident memory stays under ${RSS_BOUND / MIB} MB (peak ${Math.round(peak / MIB)} MB)`)
  t.ok(growth < RSS_GROWTH, `and does not grow with the events (${Math.round(growth / MIB)} MB from a fifth to the end)`)

  // Those that never read were cut off; the readers are still connected.
  await until('the non-readers to be cut off', async () => await openStreams(svc) === READERS)
  const cutOff = svc.logs.filter((l) => String(l.msg).startsWith('event stream client too slow'))
  t.equal(cutOff.length, STREAMS - READERS, 'each non-reader was cut off once, and logged')

  // Every reader got every event, in order: one per acknowledged write, the same ids for all.
  await until('the readers to catch up', () => readers.every((r) => r.ids.length >= WRITES))
  const ids = (readers[0] as Client).ids
  t.equal(ids.length, WRITES)
  t.ok(ids.every((id, i) => i === 0 || id > (ids[i - 1] as number)), 'ids only grow')
  t.ok(readers.every((r) => r.ids.length === WRITES && r.ids.every((id, i) => id === ids[i])), 'every reader saw the same events')

  // A cut-off client reconnects with Last-Event-ID and gets exactly what came after it (older than memory: from the store).
  for (const from of [ids[0] as number, ids[WRITES / 2] as number]) {
    const again = await connect(svc.url, true, from)
    const expected = ids.filter((id) => id > from)
    await until('the replay', () => again.ids.length >= expected.length)
    t.same(again.ids, expected, `a reconnect after ${from === ids[0] ? 'the first event' : 'the middle'} replays the rest`)
    again.res.destroy()
  }

  for (const c of clients) c.res.destroy()
  svc.proc.kill('SIGKILL')
  await svc.exited
  const restarted = await startService(t, env)
  const stored = new Map<string, string>()
  let cursor: string | null = null
  do {
    const q: string = cursor === null ? '' : `&cursor=${cursor}`
    const page = (await call(restarted.url, 'GET', `/v1/workspaces?limit=1000${q}`)).body as { items: Array<{ name: string, note: string }>, next_cursor: string | null }
    for (const w of page.items) stored.set(w.name, w.note)
    cursor = page.next_cursor
  } while (cursor !== null)
  t.same(stored, acked, 'after a kill, every workspace holds its last acknowledged write')
  restarted.proc.kill('SIGTERM')
  t.equal(await restarted.exited, 0)
})
