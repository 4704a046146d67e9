import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { build, json, listFiles, storedGroup } from './helper.js'

const stateDir = (dataDir: string) => join(dataDir, '.core', 'state')

async function create (app: FastifyInstance, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/v1/buffers', ...json(body) })
}

async function add (app: FastifyInstance, name: string, body: unknown, headers: Record<string, string> = {}) {
  const req = json(body)
  return app.inject({ method: 'POST', url: `/v1/buffers/${name}/entries`, payload: req.payload, headers: { ...req.headers, ...headers } })
}

t.test('a buffer is a go-store file: create, add one and a batch, read, list, commit into the journal', async (t) => {
  const { app, dataDir } = await build(t)
  const created = await create(app, { name: 'qa-core-go-io-task-5', workspace: 'core/go-io/task-5' })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { name: 'qa-core-go-io-task-5', workspace: 'core/go-io/task-5', count: 0, aggregate: {} })
  t.equal(created.headers['x-store'], 'ok')
  t.ok(existsSync(join(stateDir(dataDir), 'qa-core-go-io-task-5.duckdb')), 'the file is .core/state/<name>.duckdb')

  t.equal((await add(app, 'qa-core-go-io-task-5', { kind: 'finding', data: { tool: 'gosec', file: 'main.go', line: 42, code: 'G101' } })).statusCode, 201)
  const batch = await add(app, 'qa-core-go-io-task-5', [
    { kind: 'finding', data: { tool: 'govet', file: 'a.go', line: 1, rule_id: 'printf' } },
    { kind: 'tool_run', data: { name: 'gosec', status: 'ok', findings: 1 } },
    { kind: 'build', data: { passed: true, output: '' } }
  ])
  t.equal(batch.statusCode, 201)
  t.same(batch.json().aggregate, { build: 1, finding: 2, tool_run: 1 })

  const one = await app.inject({ url: '/v1/buffers/qa-core-go-io-task-5' })
  t.equal(one.statusCode, 200)
  t.match(one.json(), { count: 4, aggregate: { build: 1, finding: 2, tool_run: 1 } })
  t.ok(one.headers.etag)
  t.same((await app.inject({ url: '/v1/buffers' })).json().items.map((b: { name: string }) => b.name), ['qa-core-go-io-task-5'])

  const committed = await app.inject({ method: 'POST', url: '/v1/buffers/qa-core-go-io-task-5/commit' })
  t.equal(committed.statusCode, 200)
  t.match(committed.json(), { name: 'qa-core-go-io-task-5', workspace: 'core/go-io/task-5', journal_id: 1, aggregate: { build: 1, finding: 2, tool_run: 1 } })
  t.same(readdirSync(stateDir(dataDir)), [], 'the file and its WAL are removed')
  t.equal((await app.inject({ url: '/v1/buffers/qa-core-go-io-task-5' })).statusCode, 404)

  const journal = (await app.inject({ url: '/v1/journal?workspace=core/go-io/task-5' })).json()
  t.equal(journal.items.length, 1)
  t.match(journal.items[0], {
    id: 1,
    measurement: 'qa-core-go-io-task-5',
    tags: { workspace: 'core/go-io/task-5' },
    fields: {
      aggregate: { build: 1, finding: 2, tool_run: 1 },
      findings: [{ tool: 'gosec', file: 'main.go', line: 42, code: 'G101' }, { tool: 'govet', rule_id: 'printf' }]
    }
  })
  t.equal(journal.items[0].fields.findings.length, 2, 'only finding entries are journalled as findings')

  await app.close()
  const stored = await storedGroup(dataDir, 'journal')
  t.equal(stored.size, 1, 'one journal row in the store')
  t.same((await storedGroup(dataDir, 'workspace:qa-core-go-io-task-5')).size, 0, 'the commit marker is gone with the file')
  const again = await build(t, {}, { dataDir })
  t.same((await again.app.inject({ url: '/v1/journal' })).json(), journal, 'the journal survives a restart')
  t.same(again.app.service.recovery.report.orphans, { skipped: null, outcomes: [] })
})

t.test('discard removes the file and journals nothing', async (t) => {
  const { app, dataDir } = await build(t)
  await create(app, { name: 'qa-x' })
  await add(app, 'qa-x', { kind: 'finding', data: { tool: 'gosec' } })
  const res = await app.inject({ method: 'DELETE', url: '/v1/buffers/qa-x' })
  t.equal(res.statusCode, 204)
  t.same(readdirSync(stateDir(dataDir)), [])
  t.same((await app.inject({ url: '/v1/journal' })).json(), { items: [], next_cursor: null })
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/buffers/qa-x' })).statusCode, 404)
  t.equal((await create(app, { name: 'qa-x' })).statusCode, 201, 'the name is free again')
})

t.test('duplicates, unknown buffers, bad entries and stale ETags', async (t) => {
  const { app } = await build(t)
  await create(app, { name: 'qa-dup' })
  const dup = await create(app, { name: 'qa-dup' })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().code, 'exists')
  const both = await Promise.all([create(app, { name: 'qa-race' }), create(app, { name: 'qa-race' })])
  t.same(both.map((r) => r.statusCode).sort(), [201, 409], 'two concurrent creates: one wins')

  for (const [method, url] of [['GET', '/v1/buffers/qa-none'], ['POST', '/v1/buffers/qa-none/commit'], ['DELETE', '/v1/buffers/qa-none']] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.json().code, 'not_found')
  }
  t.equal((await add(app, 'qa-none', { kind: 'finding', data: {} })).statusCode, 404)

  const bad = await add(app, 'qa-dup', [{ kind: '', data: {} }])
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'validation_failed')
  t.equal((await add(app, 'qa-dup', { kind: 'finding', data: 'text' })).statusCode, 400, 'data must be an object')
  t.equal((await add(app, 'qa-dup', { kind: 'finding', data: {}, extra: 1 })).statusCode, 400, 'unknown fields are refused')
  t.equal((await add(app, 'qa-dup', [])).statusCode, 400, 'an empty batch is refused')
  t.equal((await add(app, 'qa-dup', Array(10001).fill({ kind: 'k', data: {} }))).statusCode, 400, 'at most 10,000 entries per request')
  t.equal((await create(app, { name: 'qa-y', workspace: '../etc' })).statusCode, 400)
  t.equal((await app.inject({ url: '/v1/buffers/qa-dup' })).json().count, 0, 'nothing was added')

  const etag = (await app.inject({ url: '/v1/buffers/qa-dup' })).headers.etag as string
  t.equal((await add(app, 'qa-dup', { kind: 'k', data: {} }, { 'if-match': etag })).statusCode, 201)
  const stale = await app.inject({ method: 'POST', url: '/v1/buffers/qa-dup/commit', headers: { 'if-match': etag } })
  t.equal(stale.statusCode, 412, 'the buffer changed since that ETag')
  t.equal((await app.inject({ url: '/v1/buffers/qa-dup' })).statusCode, 200, 'and it is still open')
})

t.test('traversal and malformed buffer names are refused with nothing written anywhere', async (t) => {
  const { app, dataDir } = await build(t)
  await create(app, { name: 'qa-ok' })
  const before = listFiles(dataDir)
  const names = ['..', '.', '../x', '..%2F..%2Fetc', '.hidden', 'a/b', 'a%2Fb', 'a%5Cb', 'a b', 'a%00b', '-x', 'x'.repeat(129), 'qa-%C3%A9']
  for (const name of names) {
    const body = await create(app, { name: decodeURIComponent(name) })
    t.equal(body.statusCode, 400, `POST {name: ${name}}`)
    t.equal(body.json().code, 'invalid_name')
    for (const [method, url] of [['GET', `/v1/buffers/${name}`], ['POST', `/v1/buffers/${name}/commit`], ['DELETE', `/v1/buffers/${name}`]] as const) {
      const res = await app.inject({ method, url })
      t.ok([400, 404, 405].includes(res.statusCode), `${method} ${url} → ${res.statusCode}`)
      if (res.statusCode === 400) t.ok(['invalid_name', 'bad_url'].includes(res.json().code))
    }
  }
  t.same(listFiles(dataDir), before, 'no file was created, moved or removed')
  t.equal(app.service.buffers.size, 1)
})

t.test('50 buffers open at once, each its own small DuckDB instance', async (t) => {
  const { app, dataDir } = await build(t)
  const names = Array.from({ length: 50 }, (_, i) => `qa-load-${String(i).padStart(2, '0')}`)
  const created = await Promise.all(names.map((name) => create(app, { name, workspace: `core/load/${name}` })))
  t.same(created.map((r) => r.statusCode), Array(50).fill(201))
  const added = await Promise.all(names.map((name, i) => add(app, name, Array.from({ length: i + 1 }, (_, j) => ({ kind: j % 2 === 0 ? 'finding' : 'test', data: { tool: 't', line: j } })))))
  t.same(added.map((r) => r.statusCode), Array(50).fill(201))
  const list = (await app.inject({ url: '/v1/buffers?limit=1000' })).json()
  t.equal(list.items.length, 50)
  t.same(list.items.map((b: { count: number }) => b.count), names.map((_, i) => i + 1))
  t.equal(readdirSync(stateDir(dataDir)).filter((f) => f.endsWith('.duckdb')).length, 50)
  const done = await Promise.all(names.map((name, i) => i % 2 === 0
    ? app.inject({ method: 'POST', url: `/v1/buffers/${name}/commit` })
    : app.inject({ method: 'DELETE', url: `/v1/buffers/${name}` })))
  t.same(done.map((r) => r.statusCode), names.map((_, i) => i % 2 === 0 ? 200 : 204))
  t.same(readdirSync(stateDir(dataDir)), [])
  const journal = (await app.inject({ url: '/v1/journal?limit=1000' })).json()
  t.equal(journal.items.length, 25)
  t.same(journal.items.map((r: { id: number }) => r.id), Array.from({ length: 25 }, (_, i) => 25 - i), 'newest first, ids without gaps')
})

t.test('lists page with a cursor', async (t) => {
  const { app } = await build(t)
  for (const name of ['qa-c', 'qa-a', 'qa-b']) await create(app, { name, workspace: 'core/r/x' })
  const first = (await app.inject({ url: '/v1/buffers?limit=2' })).json()
  t.same(first.items.map((b: { name: string }) => b.name), ['qa-a', 'qa-b'])
  const second = (await app.inject({ url: `/v1/buffers?limit=2&cursor=${first.next_cursor}` })).json()
  t.same(second, { items: [second.items[0]], next_cursor: null })
  t.equal(second.items[0].name, 'qa-c')
  for (const name of ['qa-a', 'qa-b', 'qa-c']) await app.inject({ method: 'POST', url: `/v1/buffers/${name}/commit` })
  const j1 = (await app.inject({ url: '/v1/journal?workspace=core/r/x&limit=2' })).json()
  t.same(j1.items.map((r: { id: number }) => r.id), [3, 2])
  const j2 = (await app.inject({ url: `/v1/journal?workspace=core/r/x&limit=2&cursor=${j1.next_cursor}` })).json()
  t.same(j2.items.map((r: { id: number }) => r.id), [1])
  t.equal(j2.next_cursor, null)
  t.equal((await app.inject({ url: '/v1/journal?workspace=core/other' })).json().items.length, 0)
  t.equal((await app.inject({ url: '/v1/journal?cursor=nonsense' })).json().code, 'invalid_cursor')
})

t.test('with the store unavailable a buffer cannot be opened: 503, and no file is made', async (t) => {
  const dataDir = t.testdir({ '.core': { 'db.duckdb': 'not a database' } })
  const { app } = await build(t, {}, { dataDir })
  t.equal(app.service.handle.mode, 'degraded')
  const res = await create(app, { name: 'qa-d' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'store_unavailable')
  t.equal((await app.inject({ url: '/v1/buffers/qa-d' })).statusCode, 404)
  t.notOk(existsSync(join(dataDir, '.core', 'state', 'qa-d.duckdb')))
})
