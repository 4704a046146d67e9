/**
 * Fault suite, kill -9 at random moments under a mixed load (issue 11): creations, updates, deletions
 * and outbox items from concurrent clients. After every round the service starts again and every write
 * answered 2xx is there; a write whose answer never came (the kill cut it) is either whole or absent,
 * and the queue always agrees with the records. FAULT_ROUNDS sets the rounds (default 3).
 *
 * It runs twice (issue 21): without workspace folders, and with a folder for a third of the workspaces,
 * as the Go original lays them out. Half of those are the service's, so it rewrites their status.json
 * after each commit and a kill can land between the two; the other half are the agent's (root's, mode
 * 0755, the service running as `nobody`), unwritable to the service and holding a status.json the agent
 * left before the round. A workspace is deleted and re-created with a lower runs than its file says
 * (client() below), the issue's trigger. No file may undo an acknowledged write.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { startService, type RunAs, type Service } from './child.js'
import { call, dataDirOf, serviceUser, workspaceFolder } from './faults.js'
import { storedGroup } from './helper.js'

const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 3)
const CLIENTS = 8
const NAMES = 7
// A round is a start (seconds on a busy machine, a minute at a load of 30), 1–2.5 s of load and a kill;
// each runs twice, without folders and with.
t.setTimeout(120_000 + 2 * ROUNDS * 60_000)

interface Acked {
  /** Workspaces whose last acknowledged write created or updated them, with the `note` that write set. */
  live: Map<string, string>
  deleted: Set<string>
  outbox: Set<string>
  /** Names whose last request the kill cut off: they may hold that write whole, or not at all. */
  cut: Set<string>
  writes: number
}

const nameOf = (round: number, c: number, j: number): string => `core/k${c}/r${round}-${j}`

/**
 * One client's load: cycles of five requests on one name, the next name each cycle: a queued report on
 * run 2, a DELETE, a re-create on run 0 (lower than the first life's and than the agent's status.json),
 * a running report and an outbox item. A name comes round again live on run 0, and run 2 moves it on.
 */
async function client (svc: Service, round: number, c: number, acked: Acked, stop: { dead: boolean }): Promise<void> {
  for (let i = 0; !stop.dead; i++) {
    const name = nameOf(round, c, Math.floor(i / 5) % NAMES)
    const note = `round ${round} write ${i}`
    const step = i % 5
    let res
    if (step === 1 && acked.live.has(name)) {
      res = await call(svc.url, 'DELETE', `/v1/workspaces/${name}`)
      if (res.status === 204) { acked.live.delete(name); acked.deleted.add(name) }
    } else if (step === 4) {
      res = await call(svc.url, 'POST', '/v1/sync/queue', { agent_id: `k${c}`, dispatches: [{ workspace: name, status: 'completed' }] })
      if (res.status === 202) acked.outbox.add((res.body as { id: string }).id)
    } else {
      // The queue entry must follow the record through every kill. A lower runs than the stored one is
      // fenced off (409, not a write: the DELETE before it was cut), so the re-create follows a delete.
      const body = step === 0 ? { status: 'queued', runs: 2 } : { status: step === 3 ? 'running' : 'queued', runs: 0 }
      res = await call(svc.url, 'PUT', `/v1/workspaces/${name}`, { ...body, agent: 'codex', note, host: 'remote' })
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

/**
 * Folders for a third of a round's workspaces, made before its start: the service's (`runAs`) for half of
 * them, the agent's for the other half, each with a status.json the agent left an hour before, on run 1:
 * higher than a re-create's, lower than the run the load acknowledges before it deletes.
 */
function makeFolders (dataDir: string, round: number, runAs: RunAs): void {
  const left = new Date(Date.now() - 3600_000).toISOString()
  for (let c = 0; c < CLIENTS; c++) {
    for (let j = 0; j < NAMES; j++) {
      const n = c * NAMES + j
      if (n % 3 !== 0) continue
      const name = nameOf(round, c, j)
      const agents = n % 2 === 0
      const dir = workspaceFolder(dataDir, name, agents ? null : runAs)
      if (agents) writeFileSync(join(dir, 'status.json'), JSON.stringify({ status: 'completed', agent: 'codex', runs: 1, note: 'left by the agent', updated_at: left }))
    }
  }
}

async function killRounds (t: Test, runAs: RunAs | undefined): Promise<void> {
  const dataDir = runAs === undefined ? t.testdir() : dataDirOf(t, runAs)
  const env = { DATA_DIR: dataDir, LEASE_S: '0' }
  const acked: Acked = { live: new Map(), deleted: new Set(), outbox: new Set(), cut: new Set(), writes: 0 }
  for (let round = 0; round < ROUNDS; round++) {
    if (runAs !== undefined) makeFolders(dataDir, round, runAs)
    const svc = await startService(t, env, undefined, runAs)
    const stop = { dead: false }
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(svc, round, c, acked, stop)))
    await sleep(1000 + Math.floor(Math.random() * 1500))
    svc.proc.kill('SIGKILL')
    await svc.exited
    stop.dead = true
    await load
  }

  const check = await startService(t, env, undefined, runAs)
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
  const violations = lost.length + changed.length + undone.length
  t.comment(`kill -9 ${runAs === undefined ? 'without' : 'with'} folders: ${ROUNDS} rounds, ${acked.writes} acknowledged writes (${acked.live.size} workspaces, ${acked.deleted.size} deletions, ${acked.outbox.size} outbox items), ${violations} violations`)
  check.proc.kill('SIGTERM')
  t.equal(await check.exited, 0)
  // Each commit is one statement: the stored queue agrees with the stored records, whatever the kill cut.
  const registry = await storedGroup(dataDir, 'registry') as Map<string, { status: string }>
  const queue = await storedGroup(dataDir, 'queue')
  const disagree = [...registry].filter(([name, r]) => queue.has(name) !== (r.status === 'queued'))
  t.same(disagree, [], 'no record is half-applied')
  t.same([...queue.keys()].filter((name) => !registry.has(name)), [], 'no queue entry without its record')
}

t.test(`kill -9 at random moments under mixed load, ${ROUNDS} rounds: nothing acknowledged is lost or undone`, async (t) => {
  await killRounds(t, undefined)
})

const user = serviceUser()
t.test(`the same with workspace folders, some unwritable to the service, ${ROUNDS} rounds`, { skip: 'skip' in user ? user.skip : false }, async (t) => {
  await killRounds(t, 'runAs' in user ? user.runAs : undefined)
})
