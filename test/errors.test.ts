import t from 'tap'
import { buildApp } from '../src/boot/app.js'
import { loadConfig } from '../src/boot/config.js'
import { build } from './helper.js'

t.test('unknown routes are problem+json 404s', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ url: '/v1/nothing-here?x=1' })
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.json(), { type: /not_found/, title: 'Not Found', status: 404, code: 'not_found', detail: 'no route GET /v1/nothing-here' })
})

t.test('invalid JSON, wrong content type and oversized bodies are 4xx problems', async (t) => {
  const { app } = await build(t, { BODY_LIMIT: '2048' })
  const url = '/v1/workspaces/core/a/b'
  const badJson = await app.inject({ method: 'PUT', url, payload: '{"status":', headers: { 'content-type': 'application/json' } })
  t.equal(badJson.statusCode, 400)
  t.equal(badJson.json().code, 'invalid_json')
  const text = await app.inject({ method: 'PUT', url, payload: 'status=running', headers: { 'content-type': 'text/plain' } })
  t.equal(text.statusCode, 415)
  t.equal(text.json().code, 'unsupported_media_type')
  const big = await app.inject({ method: 'PUT', url, payload: JSON.stringify({ status: 'running', agent: 'codex', runs: 1, task: 'x'.repeat(5000) }), headers: { 'content-type': 'application/json' } })
  t.equal(big.statusCode, 413)
  t.equal(big.json().code, 'body_too_large')
  const missing = await app.inject({ method: 'PUT', url, payload: JSON.stringify({ agent: 'codex' }), headers: { 'content-type': 'application/json' } })
  t.equal(missing.statusCode, 400)
  t.match(missing.json(), { code: 'validation_failed', errors: [{ field: 'body.status', message: /required/ }, { field: 'body.runs' }] })
  t.equal((await app.inject({ url })).statusCode, 404, 'nothing was stored')
})

t.test('a 5xx never echoes internals', async (t) => {
  const dir = t.testdir()
  const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }))
  t.teardown(() => app.close())
  app.get('/boom', async () => { throw new Error(`SELECT * FROM entries -- at ${dir}/.core/db.duckdb`) })
  await app.ready()
  const res = await app.inject({ url: '/boom' })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'internal')
  t.notMatch(res.body, /SELECT|duckdb|entries|at /)
})
