/**
 * What other sites can make the service do (issue 21, case 7, and `Vary: Origin` of case 11). Open mode,
 * the README's first command, used to obey a bare cross-site POST (claims, reaps, buffer commits,
 * backups) and any Host a rebinding page sends. In-process for the rules; test/ui-cross-site.test.ts
 * drives a real browser at a real service.
 */
import t from 'tap'
import { build, json, put, report } from './helper.js'

const ADMIN = 'admin-token-0123456789'

t.test('open mode answers only loopback names: a rebinding page\'s Host is refused, reads included', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/a/one', report())
  for (const host of ['localhost', 'localhost:3000', 'LOCALHOST:3000', 'dash.localhost:3000', '127.0.0.1', '127.0.0.1:3000', '127.1.2.3:8080', '[::1]:3000']) {
    t.equal((await app.inject({ url: '/v1/workspaces/core/a/one', headers: { host } })).statusCode, 200, `Host: ${host}`)
  }
  for (const host of ['evil.example:3000', 'evil.example', '127.0.0.1.nip.io:3000', 'localhost.evil.example', '0.0.0.0:3000', '10.0.0.5:3000', 'localhost:3000@evil']) {
    const res = await app.inject({ method: 'GET', url: '/v1/workspaces/core/a/one', headers: { host } })
    t.equal(res.statusCode, 403, `Host: ${host}`)
    t.match(res.json(), { code: 'host_refused', type: '/problems/host_refused' })
    t.match(res.headers['content-type'], /application\/problem\+json/)
  }
  const write = await app.inject({ method: 'PUT', url: '/v1/workspaces/core/a/one', ...json(report({ status: 'failed' })), headers: { host: 'evil.example:3000', 'content-type': 'application/json' } })
  t.equal(write.statusCode, 403)
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/one' })).json().status, 'running', 'the refused write changed nothing')

  const exposed = await build(t, { ALLOW_OPEN: '1' })
  t.equal((await exposed.app.inject({ url: '/healthz', headers: { host: 'state.internal:3000' } })).statusCode, 200, 'ALLOW_OPEN=1: other names are meant')
  const tokens = await build(t, { AUTH_TOKENS: `${ADMIN}:admin` })
  t.equal((await tokens.app.inject({ url: '/v1/status', headers: { host: 'state.example', authorization: `Bearer ${ADMIN}` } })).statusCode, 200, 'with tokens, any name')
})

t.test('open mode refuses pages of other origins; its own pages and CORS_ORIGINS are served', async (t) => {
  const { app } = await build(t, { CORS_ORIGINS: 'https://dash.example' })
  await put(app, 'core/a/q', report({ status: 'queued' }))
  const claim = (origin: string, host = '127.0.0.1:3000') => app.inject({ method: 'POST', url: '/v1/queue/claim', headers: { origin, host, 'content-type': 'application/json' }, payload: '{}' })
  for (const origin of ['https://evil.example', 'http://127.0.0.1:5173', 'http://localhost:3000', 'null', 'not an origin']) {
    const res = await claim(origin)
    t.equal(res.statusCode, 403, `Origin: ${origin}`)
    t.equal(res.json().code, 'origin_refused')
    t.match(res.headers.vary, /Origin/)
  }
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/q', headers: { origin: 'https://evil.example' } })).statusCode, 403, 'reads too')
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/q' })).json().status, 'queued', 'nothing was claimed')
  t.equal((await claim('http://127.0.0.1:3000')).statusCode, 200, 'the service\'s own page (the dashboard) is served')
  await put(app, 'core/a/q2', report({ status: 'queued' }))
  t.equal((await claim('https://dash.example')).statusCode, 200, 'an origin of CORS_ORIGINS is served')

  const tokens = await build(t, { AUTH_TOKENS: `${ADMIN}:admin` })
  const foreign = await tokens.app.inject({ url: '/v1/status', headers: { origin: 'https://evil.example', authorization: `Bearer ${ADMIN}` } })
  t.equal(foreign.statusCode, 200, 'with tokens the origin is not checked: no page elsewhere can send the token without a preflight')
  t.equal((await tokens.app.inject({ url: '/v1/status', headers: { origin: 'https://evil.example' } })).statusCode, 401)
})

t.test('a POST from a browser must be JSON: bare and simple POSTs with an Origin are refused, clients without one are not', async (t) => {
  for (const mode of ['open', 'tokens'] as const) {
    const { app } = await build(t, mode === 'open' ? {} : { AUTH_TOKENS: `${ADMIN}:admin` })
    const auth: Record<string, string> = mode === 'open' ? {} : { authorization: `Bearer ${ADMIN}` }
    const own = { ...auth, origin: 'http://localhost:80' }
    await put(app, 'core/a/q', report({ status: 'queued' }), auth)
    for (const path of ['/v1/queue/claim', '/v1/reap', '/v1/backups', '/v1/sync/flush']) {
      const bare = await app.inject({ method: 'POST', url: path, headers: own })
      t.equal(bare.statusCode, 415, `${mode}: bare POST ${path} from a page`)
      t.equal(bare.json().code, 'unsupported_media_type')
      t.match(bare.json().detail, /Content-Type: application\/json/)
    }
    const form = await app.inject({ method: 'POST', url: '/v1/buffers', headers: { ...own, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=evil' })
    t.equal(form.statusCode, 415, `${mode}: a form post`)
    t.equal((await app.inject({ url: '/v1/workspaces/core/a/q', headers: auth })).json().status, 'queued', `${mode}: nothing was claimed`)
    t.equal((await app.inject({ url: '/v1/backups', headers: auth })).json().items.length, 0, `${mode}: no backup was taken`)

    t.equal((await app.inject({ method: 'POST', url: '/v1/reap', headers: { ...own, 'content-type': 'application/json' }, payload: '{}' })).statusCode, 200, `${mode}: JSON from the page is served`)
    t.equal((await app.inject({ method: 'POST', url: '/v1/queue/claim', headers: auth })).statusCode, 200, `${mode}: a bare POST without an Origin (the CLI, agents) is served`)
    t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/q', headers: own })).statusCode, 204, `${mode}: DELETE needs a preflight cross-site anyway, so no body is asked for`)
  }
})

t.test('answers that depend on Origin say Vary: Origin, next to the Vary others add', async (t) => {
  const cors = await build(t, { CORS_ORIGINS: 'https://dash.example', AUTH_TOKENS: `${ADMIN}:admin` })
  await put(cors.app, 'core/a/v', report(), { authorization: `Bearer ${ADMIN}` })
  for (const origin of [undefined, 'https://dash.example']) {
    const headers = { authorization: `Bearer ${ADMIN}`, 'accept-encoding': 'gzip', ...(origin === undefined ? {} : { origin }) }
    for (const url of ['/v1/workspaces', '/v1/status', '/v1/workspaces/core/a/v', '/healthz', '/v1/nothing']) {
      const vary = String((await cors.app.inject({ url, headers })).headers.vary).split(',').map((v) => v.trim().toLowerCase())
      t.ok(vary.includes('origin'), `CORS on: ${url} ${origin ?? 'without Origin'} varies by Origin (${vary.join(', ')})`)
    }
    const table = String((await cors.app.inject({ url: '/v1/workspaces', headers })).headers.vary).toLowerCase()
    t.match(table, /accept/, 'a text-table route still varies by Accept')
  }
  const open = await build(t)
  t.match((await open.app.inject({ url: '/v1/workspaces' })).headers.vary, /Origin/, 'open mode: every answer depends on Origin')
  const closed = await build(t, { AUTH_TOKENS: `${ADMIN}:admin` })
  t.notMatch(String((await closed.app.inject({ url: '/healthz' })).headers.vary), /Origin/, 'tokens and no CORS: Origin changes nothing')
})
