/** Test helpers: the real app over a real DuckDB file in a per-test temp folder. */
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Test } from 'tap'
import type { AppOptions } from '../src/boot/app.js'

export interface Built {
  app: FastifyInstance
  dataDir: string
}

/** Builds and readies the app on `dataDir` (a fresh temp folder by default); closed at teardown. */
export async function build (t: Test, env: Record<string, string> = {}, opts: AppOptions & { dataDir?: string } = {}): Promise<Built> {
  // Loaded here, not at the top: half the files import this module only for until() or storedGroup() and
  // spawn the service instead, and loading the whole app through the TS loader costs them seconds of CPU.
  const [{ buildApp }, { loadConfig }] = await Promise.all([import('../src/boot/app.js'), import('../src/boot/config.js')])
  const dataDir = opts.dataDir ?? t.testdir()
  const app = await buildApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }), opts)
  let closed = false
  app.addHook('onClose', async () => { closed = true })
  t.teardown(async () => { if (!closed) await app.close() })
  await app.ready()
  return { app, dataDir }
}

export const json = (body: unknown): Pick<InjectOptions, 'payload' | 'headers'> => ({
  payload: JSON.stringify(body),
  headers: { 'content-type': 'application/json' }
})

/** A minimal valid report. */
export const report = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  status: 'running', agent: 'codex:gpt-5.4', runs: 1, task: 'fix the tests', ...over
})

export async function put (app: FastifyInstance, name: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return app.inject({ method: 'PUT', url: `/v1/workspaces/${name}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })
}

/** Rows of one group straight from the DuckDB file, tombstones (null) included; the app must be closed: it holds the lock. */
async function groupRows (dataDir: string, grp: string): Promise<Array<[string, string | null]>> {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(join(dataDir, '.core', 'db.duckdb'))
  try {
    const conn = await instance.connect()
    const reader = await conn.runAndReadAll('SELECT key, value FROM entries WHERE grp = $1 ORDER BY key', [grp])
    conn.closeSync()
    return reader.getRowsJS().map(([k, v]) => [String(k), v === null ? null : String(v)])
  } finally {
    instance.closeSync()
  }
}

/** Live rows of one group, parsed (the app must be closed). */
export async function storedGroup (dataDir: string, grp: string): Promise<Map<string, unknown>> {
  const rows = await groupRows(dataDir, grp)
  return new Map(rows.flatMap(([k, v]) => v === null ? [] : [[k, JSON.parse(v)]]))
}

/** How many rows a group has in the file, tombstones included: 0 means it left nothing behind. */
export async function rowCount (dataDir: string, grp: string): Promise<number> {
  return (await groupRows(dataDir, grp)).length
}

/** Every file under `dir`, relative, sorted: to prove a refused request wrote nothing anywhere. */
export function listFiles (dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort()
}

/** The PID of a process that has already exited (a shell: a node child would load tap's process-info hook first, 0.3 s of CPU). */
export function deadPid (): number {
  return Number(execFileSync('sh', ['-c', 'echo $$']).toString())
}

/** Polls until `check` holds; only a generous ceiling, so a slow machine cannot make it flake. */
export async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(10)
  }
}
