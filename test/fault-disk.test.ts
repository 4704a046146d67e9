/**
 * Fault suite, a full disk: a real service process on a small tmpfs of its own. Writes that cannot be
 * stored are refused with 503 (never acknowledged), reads go on, the store comes back by itself once
 * space is freed (a fresh DuckDB instance), SIGTERM with writes unstored exits non-zero, and after a
 * restart every acknowledged write is there and nothing refused is half-applied.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startService, type Service } from './child.js'
import { call, fillDisk, smallDisk } from './faults.js'
import { until } from './helper.js'

interface Sent {
  name: string
  note: string
  status: number
}

/** PUTs fresh workspaces until one is refused (or `max` went through); every answer is recorded. */
async function writeUntilRefused (svc: Service, sent: Sent[], prefix: string, max: number): Promise<number> {
  for (let i = 0; i < max; i++) {
    const name = `core/${prefix}/w-${i}`
    // A large note makes every commit a real WAL write, so a full disk shows at once.
    const note = `${name} `.repeat(200)
    const res = await call(svc.url, 'PUT', `/v1/workspaces/${name}`, { status: 'running', agent: 'codex', runs: 1, note })
    sent.push({ name, note, status: res.status })
    if (res.status === 503) return i
  }
  return -1
}

async function storeMode (svc: Service): Promise<string> {
  return ((await call(svc.url, 'GET', '/readyz')).body as { store: string }).store
}

const disk = smallDisk(t, 24)

t.test('a full disk: 503 for every write, reads served, the store back once space is freed, nothing acknowledged lost', { skip: 'skip' in disk ? disk.skip : false }, async (t) => {
  if (!('dir' in disk)) return
  const dataDir = join(disk.dir, 'data')
  // Retries far enough apart that the checks after a refusal see the degraded state before a retry ends it.
  const env = { DATA_DIR: dataDir, STORE_RETRY_S: '4', LEASE_S: '0' }
  const sent: Sent[] = []
  const svc = await startService(t, env)

  t.equal(await writeUntilRefused(svc, sent, 'before', 5), -1, 'writes are stored while there is space')
  let filler = fillDisk(disk.dir)
  t.not(await writeUntilRefused(svc, sent, 'full', 400), -1, 'a write on a full disk is refused')
  t.equal(await storeMode(svc), 'degraded', '/readyz says so')
  t.match((await call(svc.url, 'GET', '/metrics')).body, /agent_state_store_up 0/, '/metrics says so')
  const problem = await call(svc.url, 'PUT', '/v1/workspaces/core/full/another', { status: 'running', agent: 'codex', runs: 1 })
  t.equal(problem.status, 503, 'every later write too')
  t.match(problem.body, { code: 'store_unavailable', status: 503 })
  t.ok(Number(problem.headers.get('retry-after')) >= 1, 'with Retry-After')
  t.equal((await call(svc.url, 'DELETE', '/v1/workspaces/core/before/w-0')).status, 503, 'a delete too')
  t.equal((await call(svc.url, 'POST', '/v1/sync/queue', { agent_id: 'a', dispatches: [{ workspace: 'core/before/w-0', status: 'completed' }] })).status, 503, 'a sync enqueue too')
  t.equal((await call(svc.url, 'GET', '/v1/workspaces/core/before/w-0')).status, 200, 'reads are served, and the refused delete changed nothing')

  // Space comes back: the retry loop reopens the store (DuckDB may have invalidated the old instance).
  rmSync(filler)
  await until('the store to be ok again', async () => await storeMode(svc) === 'ok')
  t.equal(await writeUntilRefused(svc, sent, 'after', 5), -1, 'writes are stored again')

  // Full again, and stopped while a refused write is still held in memory: the exit code says it was not stored.
  filler = fillDisk(disk.dir)
  t.not(await writeUntilRefused(svc, sent, 'again', 400), -1)
  svc.proc.kill('SIGTERM')
  t.not(await svc.exited, 0, 'SIGTERM with writes unstored does not exit 0')

  rmSync(filler)
  const again = await startService(t, env)
  t.equal(await storeMode(again), 'ok', 'the service starts again')
  let acked = 0
  for (const s of sent) {
    const res = await call(again.url, 'GET', `/v1/workspaces/${s.name}`)
    if (s.status === 201) {
      acked++
      t.equal(res.status, 200, `acknowledged ${s.name} is there`)
    }
    // A refused write is either absent or there whole (stored once the store came back), never part of it.
    if (res.status === 200) t.equal((res.body as { note: string }).note, s.note, `${s.name} is whole`)
    else t.equal(res.status, 404)
  }
  t.comment(`disk full: ${sent.length} writes, ${acked} acknowledged, ${sent.length - acked} refused, 2 disk-full faults`)
  again.proc.kill('SIGTERM')
  t.equal(await again.exited, 0, 'a clean stop with everything stored exits 0')
})
