/**
 * A store that opens late gives back exactly what a normal restart gives back (issue 20). The same data
 * folder, copied, is started twice: once normally, once with its store out of reach until after start-up.
 * Once the late store is open, every read of what the store and the volume hold answers the same in both,
 * and the outbox drains to the upstream in both.
 */
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { manualClock } from './domain.js'
import { build, json, put, report, until } from './helper.js'
import { findFolders } from '../src/store/service/periodic.js'

/** A real upstream on loopback that takes every dispatch report and remembers its idempotency key. */
async function upstream (t: Test): Promise<{ url: string, keys: string[] }> {
  const keys: string[] = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      keys.push(String(req.headers['idempotency-key']))
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sync`, keys }
}

const folder = (dataDir: string, name: string): string => {
  const dir = join(dataDir, 'workspace', ...name.split('/'))
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Everything a client can read back of what a start-up restores. */
async function restored (app: FastifyInstance): Promise<Record<string, unknown>> {
  const read = async (url: string): Promise<unknown> => {
    const res = await app.inject({ url })
    return res.statusCode === 200 ? res.json() : res.statusCode
  }
  return {
    registry: await read('/v1/workspaces?limit=1000'),
    deleted: await read('/v1/workspaces/core/a/gone'),
    status: await read('/v1/status'),
    pools: await read('/v1/pools'),
    queue: await read('/v1/queue'),
    journal: await read('/v1/journal'),
    outbox: await read('/v1/sync/queue'),
    dead: await read('/v1/sync/dead')
  }
}

t.test('a late store open restores registry, deletions, files, pools, journal and outbox as a restart does, and the outbox drains', async (t) => {
  const clock = manualClock('2026-12-01T10:00:00.000Z')
  const { app, dataDir } = await build(t, {}, { clock: clock.now })
  for (const name of ['core/a/gone', 'core/a/stale', 'core/a/newer', 'core/a/file-only']) folder(dataDir, name)
  // Folders made while the service runs are found by the periodic pass (or the next start-up).
  findFolders(app.service)
  // registry: a running and a queued workspace, and one the files will contradict.
  t.equal((await put(app, 'core/a/run', report({ status: 'running' }))).statusCode, 201)
  t.equal((await put(app, 'core/a/wait', report({ status: 'queued', agent: 'claude:opus', priority: 3 }))).statusCode, 201)
  t.equal((await put(app, 'core/a/stale', report({ status: 'running', note: 'first' }))).statusCode, 201)
  t.equal((await put(app, 'core/a/stale', report({ status: 'blocked', question: 'which branch?' }))).statusCode, 200)
  // deletions: deleted through the API, its status.json left on the volume.
  t.equal((await put(app, 'core/a/gone', report({ status: 'completed' }))).statusCode, 201)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/gone' })).statusCode, 204)
  // pools: a configuration and a manual backoff, both kept in the store.
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config', ...json({ concurrency: { codex: 2 } }) })).statusCode, 200)
  t.equal((await app.inject({ method: 'PUT', url: '/v1/pools/claude/backoff', ...json({ seconds: 3600, reason: 'provider outage' }) })).statusCode, 200)
  // journal: one committed QA cycle.
  t.equal((await app.inject({ method: 'POST', url: '/v1/buffers', ...json({ name: 'qa-1', workspace: 'core/a/run' }) })).statusCode, 201)
  t.equal((await app.inject({ method: 'POST', url: '/v1/buffers/qa-1/entries', ...json([{ kind: 'finding', data: { tool: 'vet', file: 'a.go', line: 1, code: 'X' } }]) })).statusCode, 201)
  t.equal((await app.inject({ method: 'POST', url: '/v1/buffers/qa-1/commit' })).statusCode, 200)
  // outbox: one dispatch report waiting for an upstream (none is configured yet).
  t.equal((await app.inject({ method: 'POST', url: '/v1/sync/queue', ...json({ agent_id: 'charon', dispatches: [{ workspace: 'core/a/run', status: 'completed' }] }) })).statusCode, 202)
  await app.close()
  // files: what agents wrote while the service was down: a newer run, a workspace only the volume knows,
  // and a stale file the store is newer than.
  writeFileSync(join(dataDir, 'workspace/core/a/newer/status.json'), JSON.stringify({ status: 'running', agent: 'codex:m', runs: 2 }))
  writeFileSync(join(dataDir, 'workspace/core/a/file-only/status.json'), JSON.stringify({ status: 'queued', agent: 'codex:m', runs: 0 }))
  writeFileSync(join(dataDir, 'workspace/core/a/stale/status.json'), JSON.stringify({ status: 'running', agent: 'codex:gpt-5.4', runs: 1, note: 'first', updated_at: '2026-12-01T09:00:00.000Z' }))

  const normalDir = mkdtempSync(join(tmpdir(), 'late-open-'))
  t.teardown(() => rmSync(normalDir, { recursive: true, force: true }))
  cpSync(dataDir, normalDir, { recursive: true })

  const normalUpstream = await upstream(t)
  const { app: normal } = await build(t, { SYNC_URL: normalUpstream.url }, { dataDir: normalDir, clock: clock.now })
  await until('the normal start to drain the outbox', () => normalUpstream.keys.length === 1)
  await until('the delivery to be stored', async () => (await normal.inject({ url: '/v1/sync/status' })).json().queued === 0)
  const expected = await restored(normal)

  // The same folder with its store out of reach: the file moved aside, something unreadable in its place.
  const store = join(dataDir, '.core', 'db.duckdb')
  renameSync(store, `${store}.aside`)
  writeFileSync(store, 'not a DuckDB file '.repeat(200))
  const lateUpstream = await upstream(t)
  const { app: late } = await build(t, { SYNC_URL: lateUpstream.url, STORE_RETRY_S: '1' }, { dataDir, clock: clock.now })
  t.equal((await late.inject({ url: '/readyz' })).json().store, 'degraded', 'a degraded start')
  t.equal((await late.inject({ url: '/v1/sync/status' })).json().queued, 0, 'without the store the outbox is out of reach')
  rmSync(store)
  renameSync(`${store}.aside`, store)
  await until('the store to open', async () => (await late.inject({ url: '/readyz' })).json().store === 'ok')
  await until('the late start to drain the outbox', () => lateUpstream.keys.length === 1)
  await until('the delivery to be stored', async () => (await late.inject({ url: '/v1/sync/status' })).json().queued === 0)
  t.same(lateUpstream.keys, normalUpstream.keys, 'the same outbox item was delivered, under the same idempotency key')

  const got = await restored(late)
  for (const part of Object.keys(expected)) t.same(got[part], expected[part], `${part}: as a normal restart gives it back`)
  // And the parts really hold what was written (the comparison alone would pass on two empty services).
  t.equal(got.deleted, 404)
  t.same((got.registry as { items: Array<{ name: string }> }).items.map((w) => w.name), ['core/a/file-only', 'core/a/newer', 'core/a/run', 'core/a/stale', 'core/a/wait'])
  t.match(got.registry, { items: [{}, { runs: 2 }, {}, { status: 'blocked' }, { status: 'queued' }] })
  t.match(got.pools, { items: [{ pool: 'claude', backoff_reason: 'provider outage' }, { pool: 'codex', limit: 2 }] })
  t.equal((got.journal as { items: unknown[] }).items.length, 1)
  t.match((await late.inject({ url: '/v1/recovery' })).json(), { store: { mode: 'ok' }, hydrated: { from_store: 3, from_files: 2 } })
})
