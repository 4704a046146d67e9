/**
 * SIGKILL under concurrent PUT load: every acknowledged creation survives and every long-lived workspace
 * holds at least its last acknowledged counter. CRASH_ROUNDS raises the rounds for a longer hunt (e.g.
 * CRASH_ROUNDS=20 npx tap -t 0 test/crash.test.ts).
 *
 * It runs twice (issue 21): without workspace folders, and with a folder for a third of the workspaces,
 * half of them the service's (it rewrites status.json after each commit, and the kill can land in
 * between), half the agent's (root's, mode 0755, the service running as `nobody`) with a status.json the
 * agent left before the round, on the same run with an older counter, some dated ahead of the clock.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { startService, type RunAs, type Service } from './child.js'
import { dataDirOf, serviceUser, workspaceFolder } from './faults.js'

const WORKERS = 16
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`CRASH_ROUNDS must be a positive integer, not ${process.env.CRASH_ROUNDS}`)
// A round is a start (seconds on a busy machine, a minute at a load of 30), a second of load and a kill;
// each runs twice, without folders and with.
t.setTimeout(120_000 + 2 * ROUNDS * 60_000)
// Fresh workspaces a round may get folders for: more than a round's writes reach on this machine.
const FRESH_FOLDERS = 150

interface Acked {
  created: Set<string>
  /** Per worker, the highest `issue` counter acknowledged on its long-lived workspace. */
  counters: Map<number, number>
  writes: number
}

const freshName = (w: number, round: number, i: number): string => `crash/w${w}/r${round}-${i}`
const stateName = (w: number): string => `crash/state/w${w}`

/** PUT loops until the service dies; remembers every write that got a 2xx and calls `onAck` after each. */
async function load (service: Service, round: number, acked: Acked, stop: { dead: boolean }, onAck: () => void): Promise<number> {
  let sent = 0
  await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = 0; !stop.dead; i++) {
      const fresh = i % 2 === 0
      const name = fresh ? freshName(w, round, i) : stateName(w)
      const counter = round * 1_000_000 + i
      try {
        const res = await fetch(`${service.url}/v1/workspaces/${name}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ status: 'running', agent: 'codex:gpt-5.4', runs: 1, task: `round ${round}`, issue: counter, host: 'remote-host' })
        })
        sent++
        if (res.status >= 200 && res.status < 300) {
          if (fresh) acked.created.add(name)
          else acked.counters.set(w, counter)
          acked.writes++
          onAck()
        }
      } catch {
        return // connection refused or reset: the process is gone
      }
    }
  }))
  return sent
}

/**
 * A folder for a third of the names; the agent's ones hold a status.json on run 1 with counter 1, left an
 * hour ago, or dated an hour ahead (an agent whose clock runs fast): neither is news to the store.
 */
function makeFolders (dataDir: string, round: number, runAs: RunAs): void {
  const dated = (n: number): string => new Date(Date.now() + (n % 4 === 0 ? 3600_000 : -3600_000)).toISOString()
  const names = Array.from({ length: WORKERS }, (_, w) => [
    ...(round === 0 ? [stateName(w)] : []),
    ...Array.from({ length: FRESH_FOLDERS }, (_, i) => freshName(w, round, i))
  ]).flat()
  names.forEach((name, n) => {
    if (n % 3 !== 0) return
    const agents = n % 2 === 0
    const dir = workspaceFolder(dataDir, name, agents ? null : runAs)
    if (agents) writeFileSync(join(dir, 'status.json'), JSON.stringify({ status: 'running', agent: 'codex:gpt-5.4', runs: 1, issue: 1, host: 'remote-host', updated_at: dated(n) }))
  })
}

async function crashRounds (t: Test, runAs: RunAs | undefined): Promise<void> {
  const dataDir = runAs === undefined ? t.testdir() : dataDirOf(t, runAs)
  const acked: Acked = { created: new Set(), counters: new Map(), writes: 0 }
  for (let round = 0; round < ROUNDS; round++) {
    if (runAs !== undefined) makeFolders(dataDir, round, runAs)
    const service = await startService(t, { DATA_DIR: dataDir }, undefined, runAs)
    const stop = { dead: false }
    // The kill lands at a random moment once the load is flowing: a fixed delay alone could fall before
    // the first answer on a loaded machine, and a round without acknowledged writes proves nothing.
    let firstAck!: () => void
    const flowing = new Promise<void>((resolve) => { firstAck = resolve })
    const running = load(service, round, acked, stop, () => firstAck())
    await flowing
    await sleep(Math.floor(Math.random() * 1200))
    service.proc.kill('SIGKILL')
    t.equal(await service.exited, 'SIGKILL', `round ${round}: killed`)
    stop.dead = true
    const sent = await running
    t.ok(sent > 0, `round ${round}: ${sent} PUTs sent before the kill`)
  }

  const check = await startService(t, { DATA_DIR: dataDir }, undefined, runAs)
  const stored = new Map<string, { issue?: number }>()
  let cursor: string | null = null
  do {
    const page = await (await fetch(`${check.url}/v1/workspaces?org=crash&limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`)).json() as { items: Array<{ name: string, issue?: number }>, next_cursor: string | null }
    for (const w of page.items) stored.set(w.name, w)
    cursor = page.next_cursor
  } while (cursor !== null)

  const missing = [...acked.created].filter((n) => !stored.has(n))
  t.same(missing, [], `all ${acked.created.size} acknowledged creations survived`)
  const behind = [...acked.counters].filter(([w, counter]) => (stored.get(stateName(w))?.issue ?? -1) < counter)
  t.same(behind, [], `every long-lived workspace holds at least its last acknowledged counter (${acked.counters.size} workers)`)
  t.ok(acked.created.size > WORKERS, 'the load got writes acknowledged')
  t.comment(`crash ${runAs === undefined ? 'without' : 'with'} folders: ${ROUNDS} rounds, ${acked.writes} acknowledged writes (${acked.created.size} creations), ${missing.length + behind.length} violations`)
  check.proc.kill('SIGTERM')
  t.equal(await check.exited, 0)
}

t.test('SIGKILL under concurrent PUT load loses no acknowledged write, over several rounds', async (t) => {
  await crashRounds(t, undefined)
})

const user = serviceUser()
t.test('the same with workspace folders, some unwritable to the service', { skip: 'skip' in user ? user.skip : false }, async (t) => {
  await crashRounds(t, 'runAs' in user ? user.runAs : undefined)
})
