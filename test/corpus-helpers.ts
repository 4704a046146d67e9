/** The bad-input corpus (corpus.test.ts): a seeded app, a dump of all its state, and the problem+json check. */
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { build, listFiles } from './helper.js'

export const ADMIN = 'corpus-admin-token'
export const READER = 'corpus-read-token'
export const AUTH = { authorization: `Bearer ${ADMIN}` }
/** Small, so oversized bodies stay cheap. */
export const BODY_LIMIT = 65536
/** A fixed clock: dumps taken before and after are comparable, and no lease or backoff runs out mid-test. */
const NOW = new Date('2030-01-15T12:00:00.000Z')

export interface Seeded {
  app: FastifyInstance
  dataDir: string
  syncId: string
}

async function ok (app: FastifyInstance, opts: InjectOptions, status: number): Promise<LightMyRequestResponse> {
  const res = await app.inject({ ...opts, headers: { ...AUTH, ...(opts.payload !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers } })
  if (res.statusCode !== status) throw new Error(`seed ${opts.method ?? 'GET'} ${opts.url} → ${res.statusCode} ${res.body}`)
  return res
}

/** The app with an admin token, and state in every part of it for invalid inputs to hit. */
export async function seededApp (t: Test): Promise<Seeded> {
  // The folder of task-1 exists from start-up on, so its reports rewrite status.json there.
  const dataDir = t.testdir()
  mkdirSync(join(dataDir, 'workspace', 'core', 'go-io', 'task-1'), { recursive: true })
  const { app } = await build(t, { AUTH_TOKENS: `${ADMIN}:admin,${READER}:read`, BODY_LIMIT: String(BODY_LIMIT) }, { clock: () => new Date(NOW), dataDir })
  const body = (b: unknown) => JSON.stringify(b)
  await ok(app, { method: 'PUT', url: '/v1/config', payload: body({ concurrency: { codex: 3, claude: { total: 2, opus: 1 } }, rates: { codex: { daily_limit: 50, reset_utc: '06:00' } } }) }, 200)
  const ws: Array<[string, Record<string, unknown>]> = [
    ['core/go-io/task-1', { status: 'running', agent: 'codex:gpt-5.4', runs: 1, task: 'fix the tests', branch: 'agent/task-1' }],
    ['core/go-io/task-2', { status: 'queued', agent: 'codex:gpt-5.4', runs: 0, task: 'queued high', priority: 5 }],
    ['core/go-io/task-3', { status: 'queued', agent: 'claude:opus', runs: 0, task: 'queued low' }],
    ['core/go-io/task-4', { status: 'completed', agent: 'codex', runs: 2, task: 'done' }],
    ['core/go-io/task-5', { status: 'failed', agent: 'gemini', runs: 1, task: 'broke', question: 'why' }],
    ['core/agent/task-6', { status: 'blocked', agent: 'claude:opus', runs: 1, task: 'stuck', question: 'which API?' }],
    ['core/agent/task-7', { status: 'merged', agent: 'codex', runs: 3, task: 'merged', pr_url: 'https://forge/pr/7' }]
  ]
  for (const [name, report] of ws) await ok(app, { method: 'PUT', url: `/v1/workspaces/${name}`, payload: body(report) }, 201)
  await ok(app, { method: 'PUT', url: '/v1/pools/gemini/backoff', payload: body({ seconds: 3600, reason: 'seeded backoff' }) }, 200)
  const sync = await ok(app, { method: 'POST', url: '/v1/sync/queue', payload: body({ agent_id: 'charon', fleet_node_id: 7, dispatches: [{ id: 1 }] }), headers: { 'idempotency-key': 'seed-1' } }, 202)
  await ok(app, { method: 'POST', url: '/v1/buffers', payload: body({ name: 'qa-core-go-io-task-1', workspace: 'core/go-io/task-1' }) }, 201)
  await ok(app, { method: 'POST', url: '/v1/buffers/qa-core-go-io-task-1/entries', payload: body([{ kind: 'finding', data: { tool: 'vet', file: 'a.go', line: 3, code: 'X1' } }, { kind: 'build', data: { ok: true } }]) }, 201)
  for (const [i, code] of [[1, 'X1'], [2, 'X2']] as const) {
    await ok(app, { method: 'POST', url: '/v1/buffers', payload: body({ name: `qa-done-${i}`, workspace: 'core/go-io/task-4' }) }, 201)
    await ok(app, { method: 'POST', url: `/v1/buffers/qa-done-${i}/entries`, payload: body({ kind: 'finding', data: { tool: 'vet', file: 'a.go', line: 3, code } }) }, 201)
    await ok(app, { method: 'POST', url: `/v1/buffers/qa-done-${i}/commit` }, 200)
  }
  return { app, dataDir, syncId: (sync.json() as { id: string }).id }
}

const READS = [
  '/v1/workspaces?limit=1000', '/v1/status', '/v1/concurrency', '/v1/pools', '/v1/backoff', '/v1/queue?limit=1000', '/v1/config',
  '/v1/sync/queue?limit=1000', '/v1/sync/dead?limit=1000', '/v1/sync/status', '/v1/buffers?limit=1000', '/v1/journal?limit=1000',
  '/v1/journal/diff?workspace=core/go-io/task-4', '/v1/buffers/qa-core-go-io-task-1', '/v1/workspaces/core/go-io/task-1'
]

/** Everything a request could have changed: every read route (with ETags), the store's rows, the event log, the files. */
export async function dump (app: FastifyInstance, dataDir: string): Promise<Record<string, unknown>> {
  const reads: Record<string, unknown> = {}
  for (const url of READS) {
    const res = await app.inject({ url, headers: AUTH })
    reads[url] = { status: res.statusCode, etag: res.headers.etag ?? null, body: res.body }
  }
  await app.service.writer.commit()
  await app.service.writer.folded()
  const db = app.service.db
  if (db === null) throw new Error('the store is not open')
  const rows = (await db.rows('SELECT grp, key, value FROM entries WHERE value IS NOT NULL ORDER BY grp, key')).map((r) => r.map(String).join('\t'))
  // The main store file's size moves with DuckDB's own bookkeeping, the change log's with commits and folds;
  // their content is `rows`. Every other file counts.
  const files = listFiles(dataDir)
    .filter((f) => !/^\.core\/(db\.duckdb|log\/)/.test(f))
    .map((f) => { const s = statSync(join(dataDir, f)); return s.isDirectory() ? `${f}/` : `${f} ${s.size}` })
  return { reads, rows, lastEventId: app.service.events.lastId, files }
}

/** Why `res` is not a 4xx problem+json with every member, or null when it is. */
export function notAProblem (res: LightMyRequestResponse): string | null {
  if (res.statusCode < 400 || res.statusCode > 499) return `status ${res.statusCode}: ${res.body.slice(0, 300)}`
  const type = String(res.headers['content-type'] ?? '')
  if (!type.startsWith('application/problem+json')) return `content-type ${type}: ${res.body.slice(0, 200)}`
  let body: Record<string, unknown>
  try { body = res.json() } catch { return `not JSON: ${res.body.slice(0, 200)}` }
  for (const k of ['type', 'title', 'detail', 'code']) if (typeof body[k] !== 'string') return `no ${k}: ${res.body.slice(0, 200)}`
  if (body.status !== res.statusCode) return `status member ${String(body.status)} ≠ ${res.statusCode}`
  return null
}
