import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { wantsText } from '../src/boot/http/text-tables.js'
import { renderTables } from '../src/shared/text-table.js'
import { build, json, put, report } from './helper.js'

/** Column start offsets from a header line (columns are separated by at least two spaces). */
function offsets (header: string): number[] {
  return [...header.matchAll(/(?:^|(?<= {2}))\S/g)].map((m) => m.index as number)
}

/**
 * Every table in `text` is aligned: each row has a cell starting exactly at each header column's offset,
 * after a gap of at least two spaces. Returns the number of rows checked.
 */
function checkAligned (t: Test, text: string): number {
  let rows = 0
  for (const block of text.trimEnd().split('\n\n')) {
    const lines = block.split('\n')
    const at = lines.findIndex((l) => /^[A-Z_]+( {2,}[A-Z_]+)*$/.test(l))
    t.ok(at >= 0, 'each table has a header line')
    const cols = offsets(lines[at] as string)
    for (const line of lines.slice(at + 1)) {
      if (line === '(none)' || line.startsWith('more: ')) continue
      rows++
      t.not(line[0], ' ', 'the first cell starts at column 0')
      for (const o of cols.slice(1)) {
        t.ok(line.slice(o - 2, o) === '  ' && line[o] !== undefined && line[o] !== ' ', `a cell starts at offset ${o} in: ${line}`)
      }
    }
  }
  return rows
}

async function seed (t: Test, app: FastifyInstance): Promise<void> {
  await put(app, 'core/go-io/task-1', report({ task: 'fix the\nflaky  test 🚀 ' + 'x'.repeat(100) }))
  await put(app, 'core/go-io/task-2', report({ status: 'blocked', agent: 'claude:opus', question: 'which token?' }))
  await put(app, 'core/go-io/task-3', report({ status: 'queued', runs: 0, priority: 2 }))
  await put(app, 'core/agent/q-4', report({ status: 'queued', runs: 0, agent: 'gemini' }))
  t.equal((await app.inject({ method: 'PUT', url: '/v1/pools/codex/backoff', ...json({ seconds: 60, reason: 'quota' }) })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/v1/sync/queue', ...json({ agent_id: 'charon', dispatches: [{ id: 'core/go-io/task-1' }, { id: 'core/go-io/task-2' }] }) })).statusCode, 202)
}

const ROUTES = ['/v1/workspaces', '/v1/status', '/v1/pools', '/v1/queue', '/v1/sync/queue']

t.test('Accept: text/plain and ?format=text give the same aligned table on every list and snapshot route', async (t) => {
  const { app } = await build(t)
  await seed(t, app)
  for (const url of ROUTES) {
    const byAccept = await app.inject({ url, headers: { accept: 'text/plain' } })
    const byQuery = await app.inject({ url: `${url}?format=text` })
    t.equal(byAccept.statusCode, 200, url)
    t.equal(byAccept.headers['content-type'], 'text/plain; charset=utf-8', url)
    t.equal(byAccept.headers.vary, 'Accept', `${url} varies on Accept`)
    t.equal(byQuery.body, byAccept.body, `${url}: ?format=text is the same table`)
    t.ok(checkAligned(t, byAccept.body) > 0, `${url} has rows`)
  }
})

t.test('the tables carry the data a person looks for', async (t) => {
  const { app } = await build(t)
  await seed(t, app)
  const text = async (url: string) => (await app.inject({ url, headers: { accept: 'text/plain' } })).body
  const list = await text('/v1/workspaces?limit=2')
  t.match(list, /core\/agent\/q-4 +queued +gemini/)
  t.match(list, /^more: add cursor=\S+$/m, 'a page that has more says how to get it')
  t.notMatch(list, /x{100}/, 'long text is cut')
  t.match(list, /fix the flaky test 🚀 x+…/, 'newlines and runs of spaces become one space')
  t.match(await text('/v1/status'), /blocked:\nNAME +AGENT +QUESTION\ncore\/go-io\/task-2 +claude:opus +which token\?/)
  t.match(await text('/v1/pools'), /codex +1 +unlimited +2 +1 +\S+Z +no +backoff/)
  t.match(await text('/v1/queue'), /core\/go-io\/task-3 +codex:gpt-5\.4 +2 +\S+ +no +backoff/)
  t.match(await text('/v1/sync/queue'), /^sq_\S+ +charon +2 +\S+Z +0 +- +-$/m)
})

t.test('JSON stays the default; errors stay problem+json', async (t) => {
  const { app } = await build(t)
  await seed(t, app)
  for (const accept of [undefined, '*/*', 'application/json', 'text/plain;q=0.5, application/json']) {
    const res = await app.inject({ url: '/v1/pools', headers: accept === undefined ? {} : { accept } })
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', `Accept ${accept}`)
    t.equal(res.headers.vary, 'Accept')
  }
  t.equal((await app.inject({ url: '/v1/pools?format=json', headers: { accept: 'text/plain' } })).headers['content-type'], 'application/json; charset=utf-8', '?format=json wins')
  const bad = await app.inject({ url: '/v1/workspaces?limit=0', headers: { accept: 'text/plain' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8')
  const xml = await app.inject({ url: '/v1/status?format=xml' })
  t.equal(xml.statusCode, 400)
  t.match(xml.json(), { code: 'validation_failed', errors: [{ field: 'query.format' }] })
  t.equal((await app.inject({ url: '/v1/concurrency', headers: { accept: 'text/plain' } })).headers['content-type'], 'application/json; charset=utf-8', 'routes without a table are unchanged')
})

t.test('negotiation: the most specific Accept range decides, ties stay JSON', async (t) => {
  t.equal(wantsText(undefined, 'text/plain'), true)
  t.equal(wantsText(undefined, 'text/*'), true)
  t.equal(wantsText(undefined, 'text/plain, application/json;q=0.9'), true)
  t.equal(wantsText(undefined, 'text/html,application/xhtml+xml,*/*;q=0.8'), false, 'a browser gets JSON')
  t.equal(wantsText(undefined, '*/*'), false)
  t.equal(wantsText(undefined, '*/*, text/plain;q=0'), false)
  t.equal(wantsText(undefined, undefined), false)
  t.equal(wantsText('text', 'application/json'), true)
  t.equal(wantsText('json', 'text/plain'), false)
})

t.test('the renderer pads by code points and marks empty cells and tables', async (t) => {
  const text = renderTables([
    { columns: ['A', 'B'], rows: [['🚀🚀', 1], [null, true], ['', false]] },
    { title: 'none here:', columns: ['X'], rows: [] }
  ])
  t.equal(text, 'A   B\n🚀🚀  1\n-   yes\n-   no\n\nnone here:\nX\n(none)\n')
})

t.test('a table stays a table when the answer is compressed', async (t) => {
  const { app } = await build(t)
  // Enough rows for answers above the compression threshold.
  for (let i = 0; i < 60; i++) {
    await put(app, `core/big/q-${i}`, report({ status: 'queued', runs: 0, task: 'a task long enough to fill a row of the table' }))
    await put(app, `core/big/b-${i}`, report({ status: 'blocked', question: 'a question long enough to fill a row of the table' }))
  }
  for (const url of ['/v1/workspaces', '/v1/queue', '/v1/status']) {
    const plain = await app.inject({ url: `${url}?format=text` })
    for (const encoding of ['br', 'gzip', 'deflate']) {
      const packed = await app.inject({ url: `${url}?format=text`, headers: { 'accept-encoding': encoding } })
      t.equal(packed.headers['content-encoding'], encoding, `${url} is compressed with ${encoding}`)
      t.equal(packed.headers['content-type'], 'text/plain; charset=utf-8', `${url} ${encoding}: still text`)
      const body = encoding === 'br' ? brotliDecompressSync(packed.rawPayload) : encoding === 'gzip' ? gunzipSync(packed.rawPayload) : inflateSync(packed.rawPayload)
      t.equal(body.toString(), plain.body, `${url} ${encoding}: the same table`)
    }
  }
})

t.test('backoff, journal, buffers and dead letters have tables; the other API reads refuse format=text', async (t) => {
  const { app } = await build(t)
  await seed(t, app)
  const post = (url: string, body?: unknown) => app.inject({ method: 'POST', url, ...(body === undefined ? {} : json(body)) })
  t.equal((await post('/v1/buffers', { name: 'qa-a', workspace: 'core/go-io/task-1' })).statusCode, 201)
  t.equal((await post('/v1/buffers/qa-a/entries', [{ kind: 'finding', data: { tool: 'gosec', file: 'a.go', line: 1, code: 'G101' } }, { kind: 'test', data: {} }])).statusCode, 201)
  t.equal((await post('/v1/buffers/qa-a/commit')).statusCode, 200)
  t.equal((await post('/v1/buffers', { name: 'qa-b' })).statusCode, 201)
  const text = async (url: string) => {
    const res = await app.inject({ url })
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8', url)
    return res.body
  }
  t.match(await text('/v1/backoff?format=text'), /^POOL +BACKOFF_UNTIL +FAIL_COUNT\ncodex +\S+Z +0$/m)
  t.match(await text('/v1/journal?format=text'), /^ID +WORKSPACE +MEASUREMENT +FINDINGS +AGGREGATE +COMMITTED_AT\n1 +core\/go-io\/task-1 +qa-a +1 +finding=1 test=1 +\S+Z$/m)
  t.match(await text('/v1/buffers?format=text'), /^NAME +WORKSPACE +COUNT +CREATED_AT\nqa-b +qa-b +0 +\S+Z$/m)
  t.match(await text('/v1/sync/dead?format=text'), /^ID +AGENT +DISPATCHES +QUEUED_AT +ATTEMPTS +NEXT_ATTEMPT_AT +LAST_ERROR\n\(none\)$/m)

  for (const url of ['/v1/concurrency', '/v1/events/log', '/v1/recovery', '/v1/workspaces/core/go-io/task-1', '/v1/journal/diff?workspace=core/go-io/task-1', '/v1/sync/status']) {
    const res = await app.inject({ url: `${url}${url.includes('?') ? '&' : '?'}format=text` })
    t.equal(res.statusCode, 400, url)
    t.match(res.json(), { code: 'validation_failed', detail: /has no text table/, errors: [{ field: 'query.format' }] }, url)
  }
  t.equal((await app.inject({ url: '/v1/export/workspaces?format=csv' })).statusCode, 200, 'a route with a format of its own keeps it')
})
