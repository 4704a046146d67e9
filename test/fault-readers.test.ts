/**
 * Fault suite, greedy readers (issue 21, cases 3 and 4): a real service process with the heap it gets under
 * the memory limit of deploy/k8s/statefulset.yaml.
 * - Its journal and outbox at their caps, read by concurrent read-token clients asking for the largest pages
 *   while writers keep writing: the process stays up, every read and write is answered, the pages walk every
 *   row, and resident memory stays under the shipped limit, at the reads and at the start-up that loads both
 *   caps again.
 * - Exports of every dataset and format over 2,000 workspaces with 2 KB tasks and a journal of eight 7 MB
 *   cycles, while writers keep writing: every export is whole, every write is 2xx, the store stays ok.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startService, type Service } from './child.js'
import { duckRows } from './duck.js'
import { call, type Answer } from './faults.js'
import { residentMiB, shippedHeapOptions, shippedLimitMiB } from './memory-limit.js'

const WRITE = { authorization: 'Bearer w-token-0123456789' }
const READ = { authorization: 'Bearer r-token-0123456789' }
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

/** PUTs in a loop until stopped (at the latest when the test ends); every answer's status. */
function writers (t: Test, svc: Service): { stop: () => Promise<number[]> } {
  const statuses: number[] = []
  const state = { stopped: false }
  const loop = async (w: number) => {
    for (let i = 0; !state.stopped; i++) statuses.push((await call(svc.url, 'PUT', `/v1/workspaces/core/load/w${w}-${i % 50}`, { status: 'running', agent: 'codex:m', runs: 1 + Math.floor(i / 50) }, WRITE)).status)
  }
  const done = Promise.all([0, 1].map(loop))
  const stop = async (): Promise<number[]> => { state.stopped = true; await done; return statuses }
  t.teardown(stop)
  return { stop }
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
  const env = { DATA_DIR: t.testdir(), AUTH_TOKENS: 'w-token-0123456789:write,r-token-0123456789:read', ...heap }
  const svc = await startService(t, env)
  await fillJournal(t, svc)
  const items = await fillOutbox(t, svc)
  t.ok(items > 60, `the outbox took ${items} items before its bound`)

  const load = writers(t, svc)
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

/** A cycle of `mb` MB in findings of 100 kB, appended in bodies under the 1 MiB limit. */
async function bigCycle (t: Test, svc: Service, name: string, mb: number): Promise<void> {
  t.equal((await call(svc.url, 'POST', '/v1/buffers', { name, workspace: 'core/big/qa' }, WRITE)).status, 201)
  for (let part = 0; part < mb; part++) {
    const entries = Array.from({ length: 10 }, (_, j) => ({ kind: 'finding', data: { tool: 'lint', file: `${name}-${part}.go`, line: j, code: 'L1', message: 'm'.repeat(99_800) } }))
    t.equal((await call(svc.url, 'POST', `/v1/buffers/${name}/entries`, entries, WRITE)).status, 201)
  }
  t.equal((await call(svc.url, 'POST', `/v1/buffers/${name}/commit`, undefined, WRITE)).status, 200)
}

t.test('exports never run the store out of memory: every dataset and format while writers write', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: join(dir, 'data'), AUTH_TOKENS: 'w-token-0123456789:write,a-token-0123456789:admin', ...shippedHeapOptions() })
  const task = 't'.repeat(2000)
  let next = 0
  const seed = async () => {
    for (let i = next++; i < 2000; i = next++) t.equal((await call(svc.url, 'PUT', `/v1/workspaces/core/r${i % 40}/w${i}`, { status: 'running', agent: 'codex:m', runs: 1, task }, WRITE)).status, 201)
  }
  await Promise.all(Array.from({ length: 8 }, seed))
  for (let i = 0; i < 8; i++) await bigCycle(t, svc, `qa-${i}`, 7)

  const load = writers(t, svc)
  const exported: Array<[string, number, number]> = []
  for (const dataset of ['workspaces', 'journal', 'events', 'runs']) {
    for (const format of ['ndjson', 'csv', 'parquet']) {
      const started = Date.now()
      const res = await fetch(`${svc.url}/v1/export/${dataset}?format=${format}`, { headers: { authorization: 'Bearer a-token-0123456789' } })
      const body = Buffer.from(await res.arrayBuffer())
      t.equal(res.status, 200, `${dataset} as ${format}: ${res.status === 200 ? 'ok' : body.toString().slice(0, 200)}`)
      exported.push([`${dataset}.${format}`, body.length, Date.now() - started])
      const file = join(dir, `${dataset}.${format}`)
      writeFileSync(file, body)
      if (dataset === 'runs' || res.status !== 200) continue
      // Read back by DuckDB, independently of the service: every row is there.
      const reader = format === 'parquet' ? `read_parquet('${file}')` : format === 'csv' ? `read_csv('${file}', max_line_size = 100000000)` : `read_json('${file}', format = 'newline_delimited')`
      const [row] = await duckRows(':memory:', `SELECT count(*) AS n FROM ${reader}`)
      // Workspaces and events grow with the writers meanwhile; the journal does not.
      if (dataset === 'journal') t.equal(Number(row?.n), 8, `${dataset}.${format}: every cycle`)
      else t.ok(Number(row?.n) >= 2000, `${dataset}.${format}: ${String(row?.n)} rows`)
    }
  }
  const writes = await load.stop()
  t.ok(writes.length > 0 && writes.every((s) => s === 200 || s === 201), `every write answered 2xx while the exports ran (${writes.length})`)
  t.match((await call(svc.url, 'GET', '/readyz')).body, { store: 'ok' }, 'the store stayed ok')
  const journal = (await call(svc.url, 'GET', '/v1/export/journal?format=ndjson', undefined, { authorization: 'Bearer a-token-0123456789' })).body as string
  const lines = journal.trim().split('\n').map((l) => JSON.parse(l) as { findings: unknown[] })
  t.same(lines.map((l) => l.findings.length), Array(8).fill(70), 'each cycle with its 70 findings')
  t.comment(`exports (bytes, ms): ${exported.map(([n, b, ms]) => `${n} ${b} ${ms}`).join('; ')}; ${writes.length} writes meanwhile; resident ${JSON.stringify(residentMiB(svc.proc.pid as number))} MiB`)
})
