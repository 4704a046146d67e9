/**
 * The store side without Fastify, for unit tests of the rules: the composition root (the same one the
 * service uses) over a real DuckDB file in a temp folder, started as the service starts it.
 */
import type { Test } from 'tap'
import { loadConfig } from '../src/boot/config.js'
import type { Logger } from '../src/store/core/logger.js'
import { Service } from '../src/store/service/service.js'

/** A clock the test moves by hand. */
export function manualClock (start = '2026-11-01T10:00:00.000Z'): { now: () => Date, advance: (s: number) => void } {
  let at = Date.parse(start)
  return { now: () => new Date(at), advance: (s) => { at += s * 1000 } }
}

// The rules log only what an operator reads; a unit test has no operator.
const quiet: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/** The started service on a fresh temp folder; `env` overrides settings as the environment would (leases are off unless set). */
export async function domain (t: Test, clock: () => Date, env: Record<string, string> = {}): Promise<Service> {
  const dataDir = t.testdir()
  const service = new Service(loadConfig({ DATA_DIR: dataDir, LEASE_S: '0', ...env }), { log: quiet, clock, hostname: 'this-host' })
  await service.start()
  t.teardown(() => service.close())
  return service
}
