/**
 * Fault suite, kill -9 at random moments under a mixed load (issue 11): creations, updates, deletions
 * and outbox items from concurrent clients. After every round the service starts again and every write
 * answered 2xx is there; a write whose answer never came (the kill cut it) is either whole or absent,
 * and the queue always agrees with the records. FAULT_ROUNDS sets the rounds (default 3).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startService, type Service } from './child.js'
import { call } from './faults.js'
import { storedGroup } from './helper.js'

const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 3)
const CLIENTS = 8
// A round is a start (seconds on a busy machine), 1–2.5 s of load and a kill: give each round its time.
t.setTimeout(60_000 + ROUNDS * 30_000)

interface Acked {
  /** Workspaces whose last acknowledged write created or updated them, with the `note` that write set. */
  live: Map<string, string>
  deleted: Set<string>
  outbox: Set<string>
  /** Names whose last request the kill cut off: they may hold that write whole, or not at all. */
  cut: Set<string>
  writes: number
}

async function client (svc: Service, round: number, c: number, acked: Acked, stop: { dead: boolean }): Promise<void> {
  for (let i = 0; !stop.dead; i++) {
    const name = `core/k${c}/r${round}-${i % 7}`
    const note = `round ${round} write ${i}`
    const kind = i % 5
    let res
    if (kind === 3 && acked.live.has(name)) {
      res = await call(svc.url, 'DELETE', `/v1/workspaces/${name}`)
      if (res.status === 204) { acked.live.delete(name); acked.deleted.add(name) }
    } else if (kind === 4) {
      res = await call(svc.url, 'POST', '/v1/sync/queue', { agent_id: `k${c}`, dispatches: [{ workspace: name, status: 'completed' }] })
      if (res.status === 202) acked.outbox.add((res.body as { id: string }).id)
    } else {
      // Queued on even writes, running on odd: the queue entry must follow the record through every kill.
      res = await call(svc.url, 'PUT', `/v1/workspaces/${name}`, { status: i % 2 === 0 ? 'queued' : 'running', agent: 'codex', runs: 0, note, host: 'remote' })
      if (res.status === 200 || res.status === 201) { acked.live.set(name, note); acked.deleted.delete(name) }
    }
    if (res.status === 0) {
      acked.cut.add(name)
      return
    }
    if (res.status >= 200 && res.status < 300) acked.writes++
  }
}

async function all<T> (svc: Service, path: string): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  do {
    const page = (await call(svc.url, 'GET', `${path}${path.includes('?') ? '&' : '?'}limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`)).body as { items: T[], next_cursor: string | null }
    items.push(...page.items)
    cursor = page.next_cursor
  } while (cursor !== null)
  return items
}

t.test(`kill -9 at random moments under mixed load, ${ROUNDS} rounds: nothing acknowledged is lost or undone`, async (t) => {
  const dataDir = t.testdir()
  const env = { DATA_DIR: dataDir, LEASE_S: '0' }
  const acked: Acked = { live: new Map(), deleted: new Set(), outbox: new Set(), cut: new Set(), writes: 0 }
  for (let round = 0; round < ROUNDS; round++) {
    const svc = await startService(t, env)
    const stop = { dead: false }
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(svc, round, c, acked, stop)))
    await sleep(1000 + Math.floor(Math.random() * 1500))
    svc.proc.kill('SIGKILL')
    await svc.exited
    stop.dead = true
    await load
  }

  const check = await startService(t, env)
  const records = new Map((await all<{ name: string, note: string, status: string }>(check, '/v1/workspaces?org=core')).map((r) => [r.name, r]))
  // A name whose last request the kill cut off may be gone: that request may have been a DELETE that landed.
  const lost = [...acked.live].filter(([name]) => !records.has(name) && !acked.cut.has(name))
  t.same(lost, [], `all ${acked.live.size} acknowledged workspaces are there`)
  const changed = [...acked.live].filter(([name, note]) => records.get(name)?.note !== note && !acked.cut.has(name))
  t.same(changed, [], 'each holds its last acknowledged write (or a later one the kill cut off)')
  const undone = [...acked.deleted].filter((name) => records.has(name) && !acked.cut.has(name))
  t.same(undone, [], `all ${acked.deleted.size} acknowledged deletions hold`)
  const outbox = new Set((await all<{ id: string }>(check, '/v1/sync/queue')).map((i) => i.id))
  t.same([...acked.outbox].filter((id) => !outbox.has(id)), [], `all ${acked.outbox.size} acknowledged outbox items are there`)
  t.comment(`kill -9: ${ROUNDS} rounds, ${acked.writes} acknowledged writes, ${ROUNDS} faults`)
  check.proc.kill('SIGTERM')
  t.equal(await check.exited, 0)
  // Each commit is one statement: the stored queue agrees with the stored records, whatever the kill cut.
  const registry = await storedGroup(dataDir, 'registry') as Map<string, { status: string }>
  const queue = await storedGroup(dataDir, 'queue')
  const disagree = [...registry].filter(([name, r]) => queue.has(name) !== (r.status === 'queued'))
  t.same(disagree, [], 'no record is half-applied')
  t.same([...queue.keys()].filter((name) => !registry.has(name)), [], 'no queue entry without its record')
})
