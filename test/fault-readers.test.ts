/**
 * Fault suite, greedy readers (issue 21, case 4): a real service process with the heap it gets under the
 * memory limit of deploy/k8s/statefulset.yaml, its journal and outbox at their caps, read by concurrent
 * read-token clients asking for the largest pages while writers keep writing. The process stays up, every
 * read and write is answered, the pages walk every row, and resident memory stays under the shipped limit,
 * at the reads and at the start-up that loads both caps again.
 */
import t, { type Test } from 'tap'
import { startService, type Service } from './child.js'
import { call, type Answer } from './faults.js'
import { residentMiB, shippedHeapOptions, shippedLimitMiB } from './memory-limit.js'

const WRITE = { authorization: 'Bearer w-token' }
const READ = { authorization: 'Bearer r-token' }
// A cycle of nine 100 kB findings: ~900 kB, just under the default 1 MiB body limit.
const findings = (i: number) => Array.from({ length: 9 }, (_, j) => ({ kind: 'finding', data: { tool: 'lint', file: `f${i}.go`, line: j, code: 'L1', message: 'm'.repeat(100_000) } }))

// 80 such cycles are more than JOURNAL_MAX_BYTES (64 MiB) holds: it keeps the newest ~74.
const CYCLES = 80

/** Commits CYCLES cycles: the journal ends at its bound. */
async function fillJournal (t: Test, svc: Service): Promise<void> {
  for (let i = 0; i < CYCLES; i++) {
    const name = `qa-${i}`
    t.equal((await call(svc.url, 'POST', '/v1/buffers', { name, workspace: 'core/big/qa' }, WRITE)).status, 201)
    t.equal((await call(svc.url, 'POST', `/v1/buffers/${name}/entries`, findings(i), WRITE)).status, 201)
    t.equal((await call(svc.url, 'POST', `/v1/buffers/${name}/commit`, undefined, WRITE)).status, 200)
  }
}

/** Enqueues ~900 kB items until the outbox refuses one: it is at SYNC_QUEUE_MAX_BYTES (64 MB). */
async function fillOutbox (t: Test, svc: Service): Promise<number> {
  for (let i = 0; ; i++) {
    const res = await call(svc.url, 'POST', '/v1/sync/queue', { agent_id: 'a', dispatches: [{ n: i, log: 'z'.repeat(900_000) }] }, WRITE)
    if (res.status === 429) return i
    t.equal(res.status, 202)
  }
}

/** PUTs in a loop until stopped; every answer's status. */
function writers (svc: Service): { stop: () => Promise<number[]> } {
  const statuses: number[] = []
  let stopped = false
  const loop = async (w: number) => {
    for (let i = 0; !stopped; i++) statuses.push((await call(svc.url, 'PUT', `/v1/workspaces/core/load/w${w}-${i % 50}`, { status: 'running', agent: 'codex:m', runs: 1 + Math.floor(i / 50) }, WRITE)).status)
  }
  const done = Promise.all([0, 1].map(loop))
  return { stop: async () => { stopped = true; await done; return statuses } }
}

/** Every row of a list, a page at a time: ids in page order and the largest page in bytes. */
async function walk (svc: Service, path: string): Promise<{ ids: Array<string | number>, largest: number }> {
  const ids: Array<string | number> = []
  let largest = 0
  let cursor: string | null = null
  do {
    const res: Answer = await call(svc.url, 'GET', cursor === null ? path : `${path}&cursor=${cursor}`, undefined, READ)
    const page = res.body as { items: Array<{ id: string | number }>, next_cursor: string | null }
    largest = Math.max(largest, JSON.stringify(page).length)
    ids.push(...page.items.map((i) => i.id))
    cursor = page.next_cursor
  } while (cursor !== null)
  return { ids, largest }
}

t.test('read-token clients cannot exhaust the memory of the shipped limit, with the journal and the outbox at their caps', async (t) => {
  const limit = shippedLimitMiB()
  const heap = shippedHeapOptions()
  const env = { DATA_DIR: t.testdir(), AUTH_TOKENS: 'w-token:write,r-token:read', ...heap }
  const svc = await startService(t, env)
  await fillJournal(t, svc)
  const items = await fillOutbox(t, svc)
  t.ok(items > 60, `the outbox took ${items} items before its bound`)

  const load = writers(svc)
  const reads: number[] = []
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => call(svc.url, 'GET', '/v1/journal?limit=1000', undefined, READ)),
      ...Array.from({ length: 8 }, () => call(svc.url, 'GET', '/v1/sync/queue?limit=1000', undefined, READ)),
      ...Array.from({ length: 8 }, () => call(svc.url, 'GET', '/v1/journal?limit=50', undefined, READ))
    ])
    reads.push(...answers.map((a) => a.status))
  }
  const writes = await load.stop()
  const atReads = residentMiB(svc.proc.pid as number)
  t.equal(svc.proc.exitCode, null, 'the process is still up')
  t.ok(reads.every((s) => s === 200), `every read answered 200 (${reads.length})`)
  t.ok(writes.length > 0 && writes.every((s) => s === 200 || s === 201), `every write answered 2xx while they ran (${writes.length})`)

  // The pages still reach every row: a page is about PAGE_MAX_BYTES (1 MiB), here one ~900 kB row.
  const journal = await walk(svc, '/v1/journal?limit=1000')
  t.ok(journal.ids.length > 60 && journal.ids.length < CYCLES && !journal.ids.includes(1), `the journal at its bound, walked in ${journal.ids.length} pages`)
  t.same(journal.ids, [...journal.ids].sort((a, b) => Number(b) - Number(a)), 'newest first, each row once')
  t.ok(journal.largest < 2 * 1024 * 1024, `the largest page is ${journal.largest} bytes`)
  t.equal((await walk(svc, '/v1/sync/queue?limit=1000')).ids.length, items, 'every outbox item, once')
  t.ok(atReads !== null && atReads.peak < limit, `resident memory peaked at ${String(atReads?.peak)} MiB, under the ${limit} MiB limit`)

  // Start-up loads both caps again.
  await svc.kill('SIGTERM')
  const again = await startService(t, env)
  const atStart = residentMiB(again.proc.pid as number)
  t.ok(atStart !== null && atStart.peak < limit, `start-up with the journal and the outbox at their caps peaked at ${String(atStart?.peak)} MiB`)
  t.equal((await walk(again, '/v1/sync/queue?limit=1000')).ids.length, items, 'the outbox is whole after the restart')
  t.comment(`heap ${String(heap.NODE_OPTIONS)}; resident at the reads ${String(atReads?.now)} MiB (peak ${String(atReads?.peak)}), start-up peak ${String(atStart?.peak)} MiB; ${reads.length} reads, ${writes.length} writes`)
})
