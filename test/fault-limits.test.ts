/**
 * Fault suite, resource exhaustion by a token holder (issue 11, cases 4 and 6): a real service with
 * small bounds. Each bound answers a clear problem, the refused request changes nothing, memory stays
 * bounded, and the service starts again on the same volume with everything acknowledged.
 */
import t from 'tap'
import { startService } from './child.js'
import { call } from './faults.js'

const MIB = 1024 * 1024
const AUTH = { authorization: 'Bearer agent-token-000001' }

t.test('a write token cannot exhaust buffers, the outbox or the journal, nor keep the store from starting', async (t) => {
  const dataDir = t.testdir()
  const env = {
    DATA_DIR: dataDir,
    AUTH_TOKENS: 'agent-token-000001:write',
    BUFFERS_MAX_OPEN: '3',
    BUFFER_MAX_BYTES: String(MIB),
    JOURNAL_MAX_BYTES: String(2 * MIB),
    SYNC_QUEUE_MAX_ITEMS: '50',
    SYNC_QUEUE_MAX_BYTES: String(2 * MIB),
    // Pages as large as allowed: this test reads each list in one page (test/page-bytes.test.ts pages them).
    PAGE_MAX_BYTES: String(64 * MIB)
  }
  const svc = await startService(t, env)
  const post = (path: string, body: unknown) => call(svc.url, 'POST', path, body, AUTH)

  // Open buffers: three, then 429 and no fourth file.
  for (const name of ['qa-1', 'qa-2', 'qa-3']) t.equal((await post('/v1/buffers', { name })).status, 201)
  const fourth = await post('/v1/buffers', { name: 'qa-4' })
  t.equal(fourth.status, 429)
  t.match(fourth.body, { code: 'limit_reached' })
  t.equal((await call(svc.url, 'GET', '/v1/buffers/qa-4', undefined, AUTH)).status, 404, 'nothing was opened')

  // A buffer's bytes: 900 KB fits, the next 200 KB is 413 and the buffer is as it was.
  const chunk = (kb: number) => ({ kind: 'finding', data: { tool: 'x', text: 'y'.repeat(kb * 1024) } })
  t.equal((await post('/v1/buffers/qa-1/entries', chunk(900))).status, 201)
  const over = await post('/v1/buffers/qa-1/entries', chunk(200))
  t.equal(over.status, 413)
  t.match(over.body, { code: 'too_large' })
  t.match((await call(svc.url, 'GET', '/v1/buffers/qa-1', undefined, AUTH)).body, { count: 1 })

  // The journal keeps its newest cycles within JOURNAL_MAX_BYTES: three 900 KB cycles leave two.
  for (const name of ['qa-2', 'qa-3']) t.equal((await post(`/v1/buffers/${name}/entries`, chunk(900))).status, 201)
  for (const name of ['qa-1', 'qa-2', 'qa-3']) t.equal((await post(`/v1/buffers/${name}/commit`, undefined)).status, 200, `${name} committed`)
  const journal = (await call(svc.url, 'GET', '/v1/journal', undefined, AUTH)).body as { items: Array<{ measurement: string }> }
  t.same(journal.items.map((r) => r.measurement), ['qa-3', 'qa-2'], 'the oldest cycle left the journal')

  // The outbox: items of ~300 KB until the byte bound, then 429; small items until the count bound.
  const accepted: string[] = []
  let refused = 0
  for (let i = 0; i < 60; i++) {
    const big = i < 10
    const res = await post('/v1/sync/queue', { agent_id: 'a', dispatches: [{ workspace: `core/a/w${i}`, status: 'completed', log: big ? 'z'.repeat(300 * 1024) : 'ok' }] })
    if (res.status === 202) accepted.push((res.body as { id: string }).id)
    else {
      t.equal(res.status, 429)
      t.match(res.body, { code: 'limit_reached' })
      refused++
    }
  }
  t.ok(refused > 0 && accepted.length <= 50, `the outbox stopped at ${accepted.length} items (${refused} refused)`)
  const metrics = String((await call(svc.url, 'GET', '/metrics', undefined, AUTH)).body)
  const rss = Number(/process_resident_memory_bytes (\d+)/.exec(metrics)?.[1])
  t.ok(rss < 400 * MIB, `memory stays bounded (${Math.round(rss / MIB)} MB resident)`)

  svc.proc.kill('SIGKILL')
  await svc.exited
  const again = await startService(t, env)
  const queue = (await call(again.url, 'GET', '/v1/sync/queue?limit=1000', undefined, AUTH)).body as { items: Array<{ id: string }> }
  t.same(queue.items.map((i) => i.id).sort(), [...accepted].sort(), 'the service starts again with every accepted item, and only those')
  const after = (await call(again.url, 'GET', '/v1/journal', undefined, AUTH)).body as { items: Array<{ measurement: string }> }
  t.same(after.items.map((r) => r.measurement), ['qa-3', 'qa-2'])
  again.proc.kill('SIGTERM')
  t.equal(await again.exited, 0)
})
