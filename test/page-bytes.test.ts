/**
 * Readers cannot take what writers need (issue 21, cases 4 and 6): every list page is bounded in bytes as well
 * as in items, with a cursor for the rest; the charts and the event log never run on the writer's connection;
 * stats refuse a window with too many hours or days.
 */
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Database } from '../src/store/core/database.js'
import { build, json, put, report } from './helper.js'

// The smallest budget the configuration allows, so a few dozen items fill a page.
const PAGE_MAX_BYTES = 65536

/** Follows `next_cursor` from the first page: every page's size, and every item's id, in order. */
async function walk (app: FastifyInstance, url: string, id: (item: Record<string, unknown>) => string): Promise<{ ids: string[], sizes: number[], counts: number[] }> {
  const ids: string[] = []
  const sizes: number[] = []
  const counts: number[] = []
  let cursor: string | null = null
  do {
    const sep = url.includes('?') ? '&' : '?'
    const res = await app.inject({ url: cursor === null ? url : `${url}${sep}cursor=${cursor}` })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const page = res.json() as { items: Array<Record<string, unknown>>, next_cursor: string | null }
    ids.push(...page.items.map(id))
    sizes.push(res.rawPayload.length)
    counts.push(page.items.length)
    cursor = page.next_cursor
  } while (cursor !== null)
  return { ids, sizes, counts }
}

t.test('every list pages by bytes as well as by items, and the cursors give every item once', async (t) => {
  const { app } = await build(t, { PAGE_MAX_BYTES: String(PAGE_MAX_BYTES) })
  const big = 'x'.repeat(5000)
  // 40 workspaces of ~5 KB, 30 of them queued; 30 outbox items, 30 journal cycles and 30 events of the log.
  for (let i = 0; i < 40; i++) {
    const status = i < 30 ? 'queued' : 'running'
    t.equal((await put(app, `core/r/w${String(i).padStart(2, '0')}`, report({ status, runs: status === 'queued' ? 0 : 1, task: big }))).statusCode, 201)
  }
  for (let i = 0; i < 30; i++) {
    t.equal((await app.inject({ method: 'POST', url: '/v1/sync/queue', ...json({ agent_id: 'a', dispatches: [{ n: i, log: big }] }) })).statusCode, 202)
  }
  for (let i = 0; i < 30; i++) {
    const name = `qa-${i}`
    await app.inject({ method: 'POST', url: '/v1/buffers', ...json({ name, workspace: 'core/r/w00' }) })
    await app.inject({ method: 'POST', url: `/v1/buffers/${name}/entries`, ...json([{ kind: 'finding', data: { tool: 't', file: 'f', line: i, message: big } }]) })
    t.equal((await app.inject({ method: 'POST', url: `/v1/buffers/${name}/commit` })).statusCode, 200)
  }
  for (let i = 0; i < 30; i++) {
    await app.inject({ method: 'POST', url: '/v1/buffers', ...json({ name: `qa-open-${i}`, workspace: `core/r/${big.slice(0, 100)}${i}` }) })
  }
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: 'POST', url: '/v1/backups', ...json({ name: `b${i}` }) })).statusCode, 201)
  // Events are small: 400 of them make more than a page.
  for (let i = 0; i < 360; i++) await put(app, 'core/r/w39', report({ note: `n${i}` }))

  // [list, an item's id, items, whether they take more than one page]
  const lists: Array<[string, (item: Record<string, unknown>) => string, number, boolean]> = [
    ['/v1/workspaces?limit=1000', (w) => String(w.name), 40, true],
    ['/v1/queue?limit=1000', (q) => String((q.workspace as { name: string }).name), 30, true],
    ['/v1/sync/queue?limit=1000', (i) => String(i.id), 30, true],
    ['/v1/journal?limit=1000', (r) => String(r.id), 30, true],
    ['/v1/events/log?limit=1000&type=workspace', (e) => String(e.id), 400, true],
    ['/v1/buffers?limit=1000', (b) => String(b.name), 30, false],
    ['/v1/backups?limit=1000', (b) => String(b.name), 3, false]
  ]
  for (const [url, id, expected, paged] of lists) {
    const { ids, sizes, counts } = await walk(app, url, id)
    t.equal(new Set(ids).size, expected, `${url}: every item once`)
    t.equal(ids.length, expected, `${url}: no item twice`)
    if (paged) t.ok(counts.length > 1, `${url}: more than one page (${counts.join(', ')} items)`)
    // A page ends before the item that would take it over the budget; the envelope adds a few bytes.
    t.ok(sizes.every((s) => s <= PAGE_MAX_BYTES + 200), `${url}: every page within the budget (${Math.max(...sizes)} bytes at most)`)
  }

  // One item over the budget still makes a page of its own: a page is never empty while items remain.
  const huge = 'y'.repeat(PAGE_MAX_BYTES * 2)
  await app.inject({ method: 'POST', url: '/v1/buffers', ...json({ name: 'qa-huge', workspace: 'core/r/w00' }) })
  await app.inject({ method: 'POST', url: '/v1/buffers/qa-huge/entries', ...json([{ kind: 'finding', data: { message: huge } }]) })
  await app.inject({ method: 'POST', url: '/v1/buffers/qa-huge/commit' })
  const first = (await app.inject({ url: '/v1/journal?limit=1000' })).json()
  t.equal(first.items.length, 1, 'the oversized cycle alone')
  t.equal(first.items[0].measurement, 'qa-huge')
  t.type(first.next_cursor, 'string', 'and the rest after it')
})

t.test('the charts and the event log read nothing on the writer\'s connection', async (t) => {
  // No periodic pass during the test: only the requests below use the store.
  const env = { REAPER_INTERVAL_S: '3600' }
  const { app, dataDir } = await build(t, env)
  for (let i = 0; i < 20; i++) await put(app, `core/r/w${i}`, report())
  for (let i = 1; i < 20; i += 2) await put(app, `core/r/w${i}`, report({ status: 'completed' }))
  /** Statements the reads in `fn` queued on the writer's connection, once the writes before it are folded. */
  const serialDuring = async (target: FastifyInstance, fn: () => Promise<void>): Promise<number> => {
    await target.service.writer.fold()
    const before = (target.service.db as Database).serialCalls
    await fn()
    return (target.service.db as Database).serialCalls - before
  }
  const urls = ['/v1/stats/pools', '/v1/stats/finished', '/v1/events/log?limit=50', '/v1/events/log?subject=core/r/w1', '/v1/events/log?type=workspace']
  t.equal(await serialDuring(app, async () => {
    for (let round = 0; round < 5; round++) {
      for (const url of urls) t.equal((await app.inject({ url })).statusCode, 200, url)
    }
  }), 0, 'no statement was queued on the writer\'s connection')
  const pools = (await app.inject({ url: '/v1/stats/pools' })).json()
  t.equal(Math.max(...pools.pools.codex), 20, 'twenty ran at once in the last minutes')
  await app.close()

  // After a restart the first chart read starts from the stored log (once), then follows new events in memory.
  const again = await build(t, env, { dataDir })
  let finished: Array<{ count: number, failed: number }> = []
  t.equal(await serialDuring(again.app, async () => {
    finished = (await again.app.inject({ url: '/v1/stats/finished' })).json().items
  }), 0, 'the first read after a start reads the stored log on the reads lane')
  t.equal(finished.reduce((n, h) => n + h.count, 0), 10, 'the ten runs finished before the restart, from the stored log')
  await put(again.app, 'core/r/w0', report({ status: 'failed', question: 'broke' }))
  t.equal(await serialDuring(again.app, async () => {
    finished = (await again.app.inject({ url: '/v1/stats/finished' })).json().items
  }), 0)
  t.equal(finished.reduce((n, h) => n + h.failed, 0), 1, 'a run failed since, from memory')
})

t.test('stats refuse more than 1,000 hours or days in one answer', async (t) => {
  const { app } = await build(t)
  const tenYears = new Date(Date.now() - 3650 * 86_400_000).toISOString()
  for (const [query, status] of [
    [`by=hour&since=${tenYears}`, 400],
    [`by=day&since=${tenYears}`, 400],
    [`by=day&since=${new Date(Date.now() - 900 * 86_400_000).toISOString()}`, 200],
    [`by=hour&since=${new Date(Date.now() - 40 * 86_400_000).toISOString()}`, 200],
    [`by=model&since=${tenYears}`, 200]
  ] as const) {
    const res = await app.inject({ url: `/v1/stats/runs?${query}` })
    t.equal(res.statusCode, status, query)
    if (status === 400) t.match(res.json(), { code: 'invalid_range', detail: /at most 1,000/ })
  }
})
