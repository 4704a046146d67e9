import { symlinkSync, mkdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { build, listFiles, put, report } from './helper.js'

const BAD = [
  '..%2F..%2Fetc/passwd/x',
  'core/%2E%2E/x',
  'core/../x',
  'core/go-io/..',
  'core/go-io/.',
  'core/go-io/.hidden',
  'core/go%00io/x',
  'core/go io/x',
  'core/go-io/' + 'a'.repeat(101),
  'core/go-io/' + 'a'.repeat(300),
  'core/go-io/%E0%A4%A',
  'core/go-io/t%C3%A9st',
  'core/go-io/a%5Cb',
  '-core/go-io/x'
]

t.test('traversal and malformed names are refused with nothing written anywhere', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/go-io/ok', report())
  mkdirSync(join(dataDir, 'workspace', 'core', 'go-io'), { recursive: true })
  const filesBefore = listFiles(dataDir)
  const listBefore = (await app.inject({ url: '/v1/workspaces' })).body
  const commitsBefore = app.service.writer.stats.rows
  for (const name of BAD) {
    for (const method of ['PUT', 'GET', 'DELETE'] as const) {
      const res = await app.inject({ method, url: `/v1/workspaces/${name}`, ...(method === 'PUT' ? { payload: JSON.stringify(report()), headers: { 'content-type': 'application/json' } } : {}) })
      t.ok(res.statusCode === 400 || res.statusCode === 404, `${method} ${name} → ${res.statusCode}`)
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
      if (res.statusCode === 400) t.ok(['invalid_name', 'bad_url'].includes(res.json().code), res.json().code)
    }
  }
  t.same(listFiles(dataDir), filesBefore, 'no file was created or changed')
  t.equal((await app.inject({ url: '/v1/workspaces' })).body, listBefore)
  t.equal(app.service.writer.stats.rows, commitsBefore, 'nothing reached the store')
})

t.test('a workspace folder that is a symlink out of the volume is never written through', async (t) => {
  const { app, dataDir } = await build(t)
  const outside = t.testdir({})
  mkdirSync(join(dataDir, 'workspace', 'core', 'go-io'), { recursive: true })
  symlinkSync(outside, join(dataDir, 'workspace', 'core', 'go-io', 'task-9'))
  const res = await put(app, 'core/go-io/task-9', report())
  t.equal(res.statusCode, 201, 'the report is stored')
  t.notOk(existsSync(join(outside, 'status.json')), 'but nothing is written outside the volume')
})

t.test('invalid agent strings and unknown fields are listed field by field', async (t) => {
  const { app } = await build(t)
  const res = await put(app, 'core/go-io/x', { status: 'sleeping', agent: '../codex', runs: -1, extra: true, another: 1 })
  t.equal(res.statusCode, 400)
  const body = res.json()
  t.equal(body.code, 'validation_failed')
  t.same(body.errors.map((e: { field: string }) => e.field).sort(), ['body.agent', 'body.another', 'body.extra', 'body.runs', 'body.status'])
  t.equal((await app.inject({ url: '/v1/workspaces/core/go-io/x' })).statusCode, 404)
})
