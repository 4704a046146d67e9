/** The store's domain objects over a real DuckDB file in a temp folder, without Fastify: for unit tests of the rules. */
import type { Test } from 'tap'
import { Database } from '../src/store/core/database.js'
import type { Logger } from '../src/store/core/logger.js'
import { migrate } from '../src/store/core/migrations.js'
import { storeFile } from '../src/store/core/paths.js'
import { Writer } from '../src/store/core/writer.js'
import { EventLog } from '../src/store/events/events.js'
import { Pools } from '../src/store/pools/pools.js'
import { Reaper, type ReaperOptions } from '../src/store/reaper/reaper.js'
import { StatusFiles } from '../src/store/workspaces/status-files.js'
import { Workspaces } from '../src/store/workspaces/workspaces.js'

/** A clock the test moves by hand. */
export function manualClock (start = '2026-11-01T10:00:00.000Z'): { now: () => Date, advance: (s: number) => void } {
  let at = Date.parse(start)
  return { now: () => new Date(at), advance: (s) => { at += s * 1000 } }
}

// The rules log only what an operator reads; a unit test has no operator.
const quiet: Logger = { info () {}, warn () {}, error () {} }

export async function domain (t: Test, clock: () => Date, reaper: Partial<ReaperOptions> = {}) {
  const dataDir = t.testdir()
  const db = await Database.open(storeFile(dataDir), { threads: 1, memoryLimit: '256MB' })
  await migrate(db)
  const writer = new Writer(db)
  const events = new EventLog(writer)
  const workspaces = new Workspaces({ writer, events, files: new StatusFiles(dataDir), clock, log: quiet })
  const pools = new Pools({ workspaces, writer, events, clock })
  const reaperOpts: ReaperOptions = { hostname: 'this-host', pidCheck: 'local', leaseS: 0, ...reaper }
  const reap = new Reaper({ workspaces, writer, clock, log: quiet }, reaperOpts)
  // As the service does once it listens: from here on leases can run out.
  reap.startLeaseClock()
  t.teardown(async () => {
    await writer.drain()
    await db.close()
  })
  return { dataDir, writer, events, workspaces, pools, reaper: reap }
}
