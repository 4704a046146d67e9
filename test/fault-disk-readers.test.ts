/**
 * Fault suite, a full disk against what is not a write (issue 21, case 9): a real service process on a small
 * tmpfs of its own. A backup or an export that would leave less than DISK_RESERVE_BYTES free is refused
 * before it starts, one that takes the free space under it while it runs is stopped and removed, and a disk
 * that is full outright is a 503 `disk_full` with Retry-After, never a 500; meanwhile writes keep being
 * stored. A buffer that met a full disk works again once space returns, and its cycle is journalled whole,
 * each acknowledged entry once. Needs root to mount the tmpfs (skipped with the reason otherwise; CI runs
 * as root).
 */
import { readdirSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { startService, type Service } from './child.js'
import { call, fillDisk, smallDisk, type Answer } from './faults.js'

const MIB = 1024 * 1024
const RESERVE = 4 * MIB

/** Fills the disk, then frees `bytes` of it again; returns the filler (remove it to free the rest). */
function leaveFree (dir: string, bytes: number): string {
  const filler = fillDisk(dir)
  truncateSync(filler, Math.max(0, statSync(filler).size - bytes))
  return filler
}

/** Small PUTs, one after another: a full disk would refuse them at once. */
async function puts (svc: Service, prefix: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) statuses.push((await call(svc.url, 'PUT', `/v1/workspaces/core/${prefix}/w${i}`, { status: 'queued', agent: 'codex:m', runs: 0 })).status)
  return statuses
}

function assertDiskFull (t: Test, res: Answer, what: string): void {
  t.equal(res.status, 503, `${what}: 503`)
  t.match(res.body, { code: 'disk_full' }, `${what}: disk_full`)
  t.ok(Number(res.headers.get('retry-after')) >= 1, `${what}: with Retry-After`)
}

const disk = smallDisk(t, 48)

t.test('backups and exports keep the reserve free for the store; a full disk is 503 with Retry-After', { skip: 'skip' in disk ? disk.skip : false }, async (t) => {
  if (!('dir' in disk)) return
  const dataDir = join(disk.dir, 'data')
  const svc = await startService(t, { DATA_DIR: dataDir, DISK_RESERVE_BYTES: String(RESERVE), STORE_RETRY_S: '1', LEASE_S: '0' })
  // ~3 MB of workspaces that do not compress: the store's copy and an export of them take about that much.
  for (let i = 0; i < 500; i++) {
    const task = randomBytes(4500).toString('base64')
    t.equal((await call(svc.url, 'PUT', `/v1/workspaces/core/seed/w${i}`, { status: 'running', agent: 'codex:m', runs: 1, task })).status, 201)
  }
  t.equal((await call(svc.url, 'POST', '/v1/backups', { name: 'roomy' })).status, 201, 'a backup while there is room')

  // 2 MB free: a copy of the store does not fit above the reserve. Refused at once; writes go on.
  let filler = leaveFree(disk.dir, 2 * MIB)
  assertDiskFull(t, await call(svc.url, 'POST', '/v1/backups', { name: 'tight' }), 'a backup')
  for (const format of ['ndjson', 'csv', 'parquet']) assertDiskFull(t, await call(svc.url, 'GET', `/v1/export/workspaces?format=${format}`), `an export as ${format}`)
  t.same((await puts(svc, 'tight', 20)).filter((s) => s !== 201), [], 'every write meanwhile is stored')
  t.same(readdirSync(join(dataDir, 'backups')), ['roomy'], 'no part of the refused backup is left')
  t.same(readdirSync(join(dataDir, '.core', 'tmp')).filter((f) => f !== 'spill'), [], 'nor of the exports')
  truncateSync(filler, 0)

  // Room for the store's copy above the reserve, not for the export's file as well: it is stopped when
  // the free space falls under the reserve, and removed.
  filler = leaveFree(disk.dir, RESERVE + 5 * MIB)
  assertDiskFull(t, await call(svc.url, 'GET', '/v1/export/workspaces?format=ndjson'), 'an export that outgrows the room')
  t.same((await puts(svc, 'grown', 20)).filter((s) => s !== 201), [], 'every write meanwhile is stored')
  t.same(readdirSync(join(dataDir, '.core', 'tmp')).filter((f) => f !== 'spill'), [], 'nothing of it is left')
  truncateSync(filler, 0)

  // A disk full outright: whatever the reserve, a backup answers 503 disk_full, not 500.
  const none = await startServiceWithoutReserve(t, svc, dataDir)
  filler = fillDisk(disk.dir)
  assertDiskFull(t, await call(none.url, 'POST', '/v1/backups', { name: 'full' }), 'a backup on a full disk')
  assertDiskFull(t, await call(none.url, 'GET', '/v1/export/events?format=csv'), 'an export on a full disk')
  truncateSync(filler, 0)
  t.equal((await call(none.url, 'POST', '/v1/backups', { name: 'after' })).status, 201, 'a backup once space is back')
  t.equal((await call(none.url, 'GET', '/v1/export/workspaces?format=ndjson')).status, 200, 'an export too')
})

/** The same data folder served with no reserve at all, so only the full disk itself refuses. */
async function startServiceWithoutReserve (t: Test, previous: Service, dataDir: string): Promise<Service> {
  await previous.kill('SIGTERM')
  return await startService(t, { DATA_DIR: dataDir, DISK_RESERVE_BYTES: '0', STORE_RETRY_S: '1', LEASE_S: '0' })
}

t.test('a buffer that met a full disk works again once space returns, and journals each acknowledged entry once', { skip: 'skip' in disk ? disk.skip : false }, async (t) => {
  if (!('dir' in disk)) return
  const dataDir = join(disk.dir, 'buffers')
  const svc = await startService(t, { DATA_DIR: dataDir, STORE_RETRY_S: '1', LEASE_S: '0' })
  const name = 'qa-core-r-w'
  t.equal((await call(svc.url, 'POST', '/v1/buffers', { name, workspace: 'core/r/w' })).status, 201)
  // 300 kB a request: the buffer's WAL passes its 1 MB checkpoint threshold within a few, on a disk with 2 MB left.
  const entries = (n: number) => Array.from({ length: 10 }, (_, i) => ({ kind: 'finding', data: { tool: 't', file: `f${n}`, line: i, message: 'm'.repeat(30_000) } }))
  const filler = leaveFree(disk.dir, 2 * MIB)
  let acknowledged = 0
  let refused: Answer | null = null
  for (let n = 0; n < 40 && refused === null; n++) {
    const res = await call(svc.url, 'POST', `/v1/buffers/${name}/entries`, entries(n))
    if (res.status === 201) acknowledged += 10
    else refused = res
  }
  t.ok(refused !== null, 'the full disk refuses an append')
  if (refused !== null) assertDiskFull(t, refused, 'the refused append')
  assertDiskFull(t, await call(svc.url, 'POST', `/v1/buffers/${name}/entries`, entries(99)), 'another while the disk is full')

  truncateSync(filler, 0)
  const again = await call(svc.url, 'POST', `/v1/buffers/${name}/entries`, entries(100))
  t.equal(again.status, 201, 'an append once space is back')
  acknowledged += 10
  t.match((await call(svc.url, 'GET', `/v1/buffers/${name}`)).body, { count: acknowledged }, 'the buffer counts what was acknowledged')
  const committed = await call(svc.url, 'POST', `/v1/buffers/${name}/commit`)
  t.equal(committed.status, 200, 'and the commit journals it')
  const journal = await call(svc.url, 'GET', '/v1/journal?workspace=core/r/w&limit=1')
  const findings = (journal.body as { items: Array<{ fields: { findings: Array<{ file: string, line: number }> } }> }).items[0]?.fields.findings ?? []
  t.equal(findings.length, acknowledged, 'every acknowledged entry')
  t.equal(new Set(findings.map((f) => `${f.file}:${f.line}`)).size, findings.length, 'each once')
})
