import t from 'tap'
import { build, put, report } from './helper.js'

const TOKENS = 'r-token-0123456789:read,w-token-0123456789:write,a-token-0123456789:admin'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('each scope is enforced: read < write < admin', async (t) => {
  const { app } = await build(t, { AUTH_TOKENS: TOKENS })
  const none = await app.inject({ url: '/v1/status' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'unauthorized')
  t.equal(none.headers['www-authenticate'], 'Bearer')
  const wrong = await app.inject({ url: '/v1/status', headers: bearer('nope') })
  t.equal(wrong.statusCode, 401)
  const malformed = await app.inject({ url: '/v1/status', headers: { authorization: 'Basic abc' } })
  t.equal(malformed.statusCode, 401)

  for (const token of ['r-token-0123456789', 'w-token-0123456789', 'a-token-0123456789']) {
    t.equal((await app.inject({ url: '/v1/status', headers: bearer(token) })).statusCode, 200, `${token} can read`)
  }
  const readPut = await put(app, 'core/a/b', report(), bearer('r-token-0123456789'))
  t.equal(readPut.statusCode, 403)
  t.equal(readPut.json().code, 'forbidden')
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/b', headers: bearer('r-token-0123456789') })).statusCode, 404, 'the refused write changed nothing')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/workspaces/core/a/b', headers: bearer('r-token-0123456789') })).statusCode, 403)
  t.equal((await put(app, 'core/a/b', report(), bearer('w-token-0123456789'))).statusCode, 201)
  t.equal((await put(app, 'core/a/b', report(), bearer('a-token-0123456789'))).statusCode, 200)
})

t.test('health, readiness and the spec need no token', async (t) => {
  const { app } = await build(t, { AUTH_TOKENS: TOKENS })
  for (const url of ['/healthz', '/readyz', '/openapi.json']) t.equal((await app.inject({ url })).statusCode, 200, url)
})

t.test('with no tokens configured the service runs open', async (t) => {
  const { app } = await build(t)
  t.equal((await put(app, 'core/a/b', report())).statusCode, 201)
})
