import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, put, report, storedGroup } from './helper.js'
import { findFolders } from '../src/store/service/periodic.js'

t.test('PUT creates (201), then updates (200); GET returns the stored record with an ETag', async (t) => {
  const { app } = await build(t)
  const created = await put(app, 'core/go-io/task-5', report({ branch: 'agent/fix', issue: 5, pid: 4242, host: 'elsewhere' }))
  t.equal(created.statusCode, 201)
  t.equal(created.headers['x-store'], 'ok')
  const rec = created.json()
  t.match(rec, { name: 'core/go-io/task-5', org: 'core', repo: 'go-io', leaf: 'task-5', status: 'running', agent: 'codex:gpt-5.4', pool: 'codex', runs: 1, priority: 0, branch: 'agent/fix', issue: 5, pid: 4242 })
  t.ok(rec.heartbeat_at, 'running records carry a heartbeat stamp')
  t.notOk('queued_at' in rec)

  const updated = await put(app, 'core/go-io/task-5', report({ status: 'completed' }))
  t.equal(updated.statusCode, 200)
  t.equal(updated.json().started_at, rec.started_at, 'the same run keeps its start time')
  t.notOk('heartbeat_at' in updated.json())

  const got = await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })
  t.equal(got.statusCode, 200)
  t.same(got.json(), updated.json())
  t.equal(got.headers.etag, updated.headers.etag)
})

t.test('GET an unknown workspace is a 404 problem', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ url: '/v1/workspaces/core/go-io/nope' })
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.json(), { status: 404, code: 'not_found', title: 'Not Found' })
})

t.test('a queue entry exists exactly while the workspace is queued', async (t) => {
  const { app, dataDir } = await build(t)
  const q = await put(app, 'core/go-io/task-5', report({ status: 'queued', runs: 0, priority: 3 }))
  t.equal(q.statusCode, 201)
  t.ok(q.json().queued_at)
  await put(app, 'core/go-io/task-6', report({ status: 'queued', runs: 0 }))
  await app.close()
  const queued = await storedGroup(dataDir, 'queue')
  t.same([...queued.keys()], ['core/go-io/task-5', 'core/go-io/task-6'])
  t.match(queued.get('core/go-io/task-5'), { repo: 'go-io', agent: 'codex:gpt-5.4', priority: 3, queued_at: q.json().queued_at })

  const again = await build(t, {}, { dataDir })
  const running = await put(again.app, 'core/go-io/task-5', report({ status: 'running', runs: 1 }))
  t.equal(running.statusCode, 200)
  t.notOk('queued_at' in running.json())
  await again.app.close()
  t.same([...(await storedGroup(dataDir, 'queue')).keys()], ['core/go-io/task-6'], 'the entry is gone once it runs')
})

t.test('the concurrency snapshot counts models of one pool together', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/go-io/task-1', report({ agent: 'codex:gpt-5.4' }))
  await put(app, 'core/go-io/task-2', report({ agent: 'codex:gpt-5.4-mini' }))
  await put(app, 'core/go-io/task-3', report({ agent: 'claude:opus', status: 'blocked', question: 'which API?' }))
  let snap = (await app.inject({ url: '/v1/concurrency' })).json()
  t.match(snap, { codex: { running: 2, tracked: 2 }, claude: { running: 0, tracked: 1 } })
  t.ok(snap.codex.snapshot_at)

  const del = await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/go-io/task-2' })
  t.equal(del.statusCode, 204)
  snap = (await app.inject({ url: '/v1/concurrency' })).json()
  t.match(snap.codex, { running: 1, tracked: 1 })

  await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/go-io/task-3' })
  snap = (await app.inject({ url: '/v1/concurrency' })).json()
  t.notOk('claude' in snap, 'a pool with nothing tracked leaves the group')
  await app.close()
  const stored = await storedGroup(dataDir, 'concurrency')
  t.same([...stored.keys()], ['codex'])
  t.match(stored.get('codex'), { running: 1, tracked: 1 })
})

t.test('GET /v1/status counts by status and lists the blocked', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/a/t1', report())
  await put(app, 'core/b/t2', report({ status: 'blocked', agent: 'claude:opus', question: 'need a token' }))
  await put(app, 'core/c/t3', report({ status: 'queued', runs: 0 }))
  const res = await app.inject({ url: '/v1/status' })
  t.equal(res.statusCode, 200)
  const blockedAt = (await app.inject({ url: '/v1/workspaces/core/b/t2' })).json().updated_at
  t.same(res.json(), {
    total: 3,
    by_status: { queued: 1, running: 1, completed: 0, failed: 0, blocked: 1, merged: 0, 'ready-for-review': 0, rejected: 0 },
    blocked: [{ name: 'core/b/t2', repo: 'b', agent: 'claude:opus', question: 'need a token', updated_at: blockedAt }],
    blocked_total: 1,
    blocked_list: '/v1/workspaces?status=blocked'
  })
})

t.test('list filters and pages with an opaque cursor', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 7; i++) await put(app, `core/repo${i % 2}/task-${i}`, report({ status: i < 4 ? 'running' : 'failed', agent: i % 3 === 0 ? 'claude:opus' : 'codex' }))
  const all = (await app.inject({ url: '/v1/workspaces' })).json()
  t.equal(all.items.length, 7)
  t.equal(all.next_cursor, null)
  t.same(all.items.map((w: { name: string }) => w.name), [...all.items.map((w: { name: string }) => w.name)].sort())

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const url: string = '/v1/workspaces?limit=3' + (cursor === null ? '' : `&cursor=${cursor}`)
    const page = (await app.inject({ url })).json()
    t.ok(page.items.length <= 3)
    seen.push(...page.items.map((w: { name: string }) => w.name))
    cursor = page.next_cursor
  } while (cursor !== null)
  t.same(seen, all.items.map((w: { name: string }) => w.name), 'pages cover every record once, in order')

  t.equal((await app.inject({ url: '/v1/workspaces?status=failed' })).json().items.length, 3)
  t.equal((await app.inject({ url: '/v1/workspaces?pool=claude' })).json().items.length, 3)
  t.equal((await app.inject({ url: '/v1/workspaces?agent=codex&repo=repo1' })).json().items.length, 2)
  t.equal((await app.inject({ url: '/v1/workspaces?org=other' })).json().items.length, 0)

  const badCursor = await app.inject({ url: '/v1/workspaces?cursor=not-a-cursor' })
  t.equal(badCursor.statusCode, 400)
  t.equal(badCursor.json().code, 'invalid_cursor')
  const badLimit = await app.inject({ url: '/v1/workspaces?limit=5000' })
  t.equal(badLimit.statusCode, 400)
  t.match(badLimit.json().errors, [{ field: 'query.limit' }])
  const badFilter = await app.inject({ url: '/v1/workspaces?status=sleeping&colour=red' })
  t.equal(badFilter.statusCode, 400)
  t.equal(badFilter.json().errors.length, 2, 'each bad parameter is listed')
})

t.test('a lower runs is refused as stale_run and changes nothing', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/go-io/task-5', report({ runs: 3 }))
  const before = (await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })).json()
  const stale = await put(app, 'core/go-io/task-5', report({ runs: 2, status: 'failed' }))
  t.equal(stale.statusCode, 409)
  t.equal(stale.json().code, 'stale_run')
  t.same((await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })).json(), before)
})

t.test('a finished workspace goes back to running only with a higher runs', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/go-io/task-5', report({ runs: 1, status: 'failed', question: 'tests failed' }))
  const same = await put(app, 'core/go-io/task-5', report({ runs: 1, status: 'running' }))
  t.equal(same.statusCode, 409)
  t.equal(same.json().code, 'illegal_transition')
  const resume = await put(app, 'core/go-io/task-5', report({ runs: 2, status: 'running' }))
  t.equal(resume.statusCode, 200)
  t.equal(resume.json().runs, 2)
})

t.test('If-Match: 412 on a stale ETag, accepted on the current one', async (t) => {
  const { app } = await build(t)
  const first = await put(app, 'core/go-io/task-5', report())
  const etag = first.headers.etag as string
  await put(app, 'core/go-io/task-5', report({ note: 'changed' }))
  const stale = await put(app, 'core/go-io/task-5', report({ note: 'mine' }), { 'if-match': etag })
  t.equal(stale.statusCode, 412)
  t.equal(stale.json().code, 'precondition_failed')
  const current = (await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })).headers.etag as string
  const ok = await put(app, 'core/go-io/task-5', report({ note: 'mine' }), { 'if-match': current })
  t.equal(ok.statusCode, 200)
  const staleDelete = await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/go-io/task-5', headers: { 'if-match': current } })
  t.equal(staleDelete.statusCode, 412)
  const missing = await put(app, 'core/go-io/new', report(), { 'if-match': '*' })
  t.equal(missing.statusCode, 412, 'If-Match: * needs an existing record')
  t.equal((await app.inject({ url: '/v1/workspaces/core/go-io/new' })).statusCode, 404)
})

t.test('If-None-Match: * creates only; 412 problem+json and nothing changed when the workspace exists', async (t) => {
  const { app } = await build(t)
  const created = await put(app, 'core/go-io/task-5', report({ note: 'first' }), { 'if-none-match': '*' })
  t.equal(created.statusCode, 201)
  const events = async () => (await app.inject({ url: '/v1/events/log?subject=core/go-io/task-5' })).json().items.length
  const before = await events()
  const second = await put(app, 'core/go-io/task-5', report({ runs: 2, note: 'second' }), { 'if-none-match': '*' })
  t.equal(second.statusCode, 412)
  t.match(second.headers['content-type'], /^application\/problem\+json/)
  t.match(second.json(), { code: 'precondition_failed', detail: /exists already/ })
  const stored = await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })
  t.equal(stored.headers.etag, created.headers.etag, 'the record is unchanged')
  t.match(stored.json(), { runs: 1, note: 'first' })
  t.equal(await events(), before, 'no event recorded')
  const etag = created.headers.etag as string
  t.equal((await put(app, 'core/go-io/task-5', report({ note: 'x' }), { 'if-none-match': `"other", ${etag}` })).statusCode, 412, 'a listed ETag that is current')
  t.equal((await put(app, 'core/go-io/task-5', report({ note: 'y' }), { 'if-none-match': '"other"' })).statusCode, 200, 'no listed ETag is current')
  const garbage = await put(app, 'core/go-io/new', report(), { 'if-none-match': 'abc' })
  t.equal(garbage.statusCode, 400, 'not `*` nor entity tags')
  t.equal((await app.inject({ url: '/v1/workspaces/core/go-io/new' })).statusCode, 404)
})

t.test('deleting an unknown workspace answers 204 and changes nothing', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/go-io/task-5', report())
  const before = [(await app.inject({ url: '/v1/workspaces' })).body, (await app.inject({ url: '/v1/status' })).body, (await app.inject({ url: '/v1/concurrency' })).body]
  const res = await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/go-io/ghost' })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  const after = [(await app.inject({ url: '/v1/workspaces' })).body, (await app.inject({ url: '/v1/status' })).body, (await app.inject({ url: '/v1/concurrency' })).body]
  t.same(after, before)
  await app.close()
  t.same([...(await storedGroup(dataDir, 'registry')).keys()], ['core/go-io/task-5'])
  t.equal((await storedGroup(dataDir, 'event')).size, 1, 'no event was recorded for the no-op')
})

t.test('status.json is rewritten atomically when the workspace folder exists, and only then', async (t) => {
  const dataDir = t.testdir()
  const dir = join(dataDir, 'workspace', 'core', 'go-io', 'task-5')
  mkdirSync(dir, { recursive: true })
  const { app } = await build(t, {}, { dataDir })
  await put(app, 'core/go-io/task-5', report({ pid: 77 }))
  let file = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'))
  t.match(file, { status: 'running', agent: 'codex:gpt-5.4', repo: 'go-io', org: 'core', runs: 1, pid: 77 })
  await put(app, 'core/go-io/task-5', report({ status: 'completed' }))
  file = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'))
  t.equal(file.status, 'completed')
  await put(app, 'core/go-io/task-6', report())
  t.notOk(existsSync(join(dataDir, 'workspace', 'core', 'go-io', 'task-6')), 'no folder is created for a workspace without one')
})

t.test('a folder made while the service runs gets its status.json from the periodic pass on; a folder removed is forgotten', async (t) => {
  const { app, dataDir } = await build(t)
  const dir = join(dataDir, 'workspace', 'core', 'go-io', 'later')
  await put(app, 'core/go-io/later', report({ runs: 1 }))
  mkdirSync(dir, { recursive: true })
  await put(app, 'core/go-io/later', report({ runs: 2 }))
  t.notOk(existsSync(join(dir, 'status.json')), 'not known before the periodic pass looked: a report touches no folder it does not know')
  findFolders(app.service)
  await put(app, 'core/go-io/later', report({ runs: 3 }))
  t.match(JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')), { runs: 3 }, 'the pass found it')
  rmSync(dir, { recursive: true })
  const res = await put(app, 'core/go-io/later', report({ runs: 4 }))
  t.equal(res.statusCode, 200, 'a folder gone since the pass is no error')
  t.notOk(existsSync(dir), 'and is not made again')
  mkdirSync(dir, { recursive: true })
  await put(app, 'core/go-io/later', report({ runs: 5 }))
  t.notOk(existsSync(join(dir, 'status.json')), 'it was forgotten: made again, it waits for the next pass')
})
