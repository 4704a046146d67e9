import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startService, type Service } from './child.js'

const WORKERS = 16
// CRASH_ROUNDS raises the count for a longer hunt (e.g. CRASH_ROUNDS=20 npx tap -t 0 test/crash.test.ts).
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`CRASH_ROUNDS must be a positive integer, not ${process.env.CRASH_ROUNDS}`)

interface Acked {
  created: Set<string>
  /** Per worker, the highest `issue` counter acknowledged on its long-lived workspace. */
  counters: Map<number, number>
}

/** PUT loops until the service dies; remembers every write that got a 2xx and calls `onAck` after each. */
async function load (service: Service, round: number, acked: Acked, stop: { dead: boolean }, onAck: () => void): Promise<number> {
  let sent = 0
  await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = 0; !stop.dead; i++) {
      const fresh = i % 2 === 0
      const name = fresh ? `crash/w${w}/r${round}-${i}` : `crash/state/w${w}`
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
          onAck()
        }
      } catch {
        return // connection refused or reset: the process is gone
      }
    }
  }))
  return sent
}

t.test('SIGKILL under concurrent PUT load loses no acknowledged write, over several rounds', async (t) => {
  const dataDir = t.testdir()
  const acked: Acked = { created: new Set(), counters: new Map() }
  for (let round = 0; round < ROUNDS; round++) {
    const service = await startService(t, { DATA_DIR: dataDir })
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

  const check = await startService(t, { DATA_DIR: dataDir })
  const stored = new Map<string, { issue: number }>()
  let cursor: string | null = null
  do {
    const page = await (await fetch(`${check.url}/v1/workspaces?org=crash&limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`)).json() as { items: Array<{ name: string, issue: number }>, next_cursor: string | null }
    for (const w of page.items) stored.set(w.name, w)
    cursor = page.next_cursor
  } while (cursor !== null)

  const missing = [...acked.created].filter((n) => !stored.has(n))
  t.same(missing, [], `all ${acked.created.size} acknowledged creations survived`)
  for (const [w, counter] of acked.counters) {
    const got = stored.get(`crash/state/w${w}`)?.issue ?? -1
    t.ok(got >= counter, `worker ${w}: stored ${got} ≥ acknowledged ${counter}`)
  }
  t.ok(acked.created.size > WORKERS, 'the load got writes acknowledged')
  check.proc.kill('SIGTERM')
  t.equal(await check.exited, 0)
})
