import t from 'tap'
import { checkExposure, loadConfig } from '../src/boot/config.js'

t.test('defaults follow API §10', async (t) => {
  const c = loadConfig({})
  t.match(c, { port: 3000, host: '127.0.0.1', logLevel: 'info', allowOpen: false, leaseS: 300, reaperIntervalS: 30, reaperPidCheck: 'local', syncMaxAttempts: 100, syncTimeoutMs: 10000, bodyLimit: 1048576 })
  t.match(c.dataDir, /\/data$/)
  t.equal(c.tokens.size, 0)
})

t.test('the event log keeps 100000 events unless EVENT_RETENTION says otherwise', async (t) => {
  t.equal(loadConfig({}).eventRetention, 100000)
  t.equal(loadConfig({ EVENT_RETENTION: '500' }).eventRetention, 500)
  t.throws(() => loadConfig({ EVENT_RETENTION: '0' }), /EVENT_RETENTION/)
  t.throws(() => loadConfig({ EVENT_RETENTION: 'all' }), /EVENT_RETENTION/)
})

t.test('event streams: keep-alive every 15 s, clients cut off 1000 events behind, unless configured', async (t) => {
  t.match(loadConfig({}), { sseKeepaliveS: 15, sseQueueMax: 1000 })
  t.match(loadConfig({ SSE_KEEPALIVE_S: '1', SSE_QUEUE_MAX: '50' }), { sseKeepaliveS: 1, sseQueueMax: 50 })
  t.throws(() => loadConfig({ SSE_KEEPALIVE_S: '0' }), /SSE_KEEPALIVE_S/)
  t.throws(() => loadConfig({ SSE_QUEUE_MAX: '0' }), /SSE_QUEUE_MAX/)
})

t.test('CORE_WORKSPACE is accepted as DATA_DIR', async (t) => {
  t.equal(loadConfig({ CORE_WORKSPACE: '/srv/core' }).dataDir, '/srv/core')
  t.equal(loadConfig({ CORE_WORKSPACE: '/srv/core', DATA_DIR: '/srv/data' }).dataDir, '/srv/data')
})

t.test('a bad value stops start-up with a message naming the variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), /PORT/)
  t.throws(() => loadConfig({ LEASE_S: '-1' }), /LEASE_S/)
  t.throws(() => loadConfig({ REAPER_PID_CHECK: 'sometimes' }), /REAPER_PID_CHECK/)
  t.equal(loadConfig({ REAPER_PID_CHECK: 'host' }).reaperPidCheck, 'host')
  t.throws(() => loadConfig({ AUTH_TOKENS: 'abc:root' }), /AUTH_TOKENS/)
  t.throws(() => loadConfig({ AUTH_TOKENS: ':read' }), /AUTH_TOKENS/)
  t.throws(() => loadConfig({ SYNC_URL: 'not a url' }), /SYNC_URL/)
  t.throws(() => loadConfig({ ALLOW_OPEN: 'maybe' }), /ALLOW_OPEN/)
  t.throws(() => loadConfig({ SYNC_TIMEOUT_MS: '0' }), /SYNC_TIMEOUT_MS/)
})

t.test('tokens parse with their scopes', async (t) => {
  const c = loadConfig({ AUTH_TOKENS: 'aaaaaaaaaaaaaaaa:read, bbbbbbbbbbbbbbb:c:write ,dddddddddddddddd:admin' })
  t.same([...c.tokens], [['aaaaaaaaaaaaaaaa', 'read'], ['bbbbbbbbbbbbbbb:c', 'write'], ['dddddddddddddddd', 'admin']])
})

t.test('short and repeated tokens stop start-up with a line that names the entry, never the token', async (t) => {
  const long = '0123456789abcdef'
  t.throws(() => loadConfig({ AUTH_TOKENS: 'x:admin' }), /AUTH_TOKENS: a token must be at least 16 characters, or it can be guessed \(entry 1 has 1\)/)
  t.throws(() => loadConfig({ AUTH_TOKENS: `${long}:read,${long.slice(1)}:admin` }), /entry 2 has 15/)
  t.throws(() => loadConfig({ AUTH_TOKENS: `${long}:read,other-token-000000:write,${long}:admin` }), /AUTH_TOKENS: entry 3 repeats a token given before it/)
  t.throws(() => loadConfig({ AUTH_TOKENS: `${long}:read,${long}:read` }), /entry 2 repeats/, 'even with the same scope')
  for (const bad of ['x:admin', `${long}:read,${long}:admin`, `${long}:root`]) {
    try { loadConfig({ AUTH_TOKENS: bad }) } catch (err) { t.notMatch((err as Error).message, /0123456789|x:/, 'the message holds no part of a token') }
  }
  t.equal(loadConfig({ AUTH_TOKENS: `${long}:read` }).tokens.get(long), 'read', '16 characters are enough')
})

t.test('no tokens: refuses a non-loopback HOST unless ALLOW_OPEN=1', async (t) => {
  t.throws(() => checkExposure(loadConfig({ HOST: '0.0.0.0' })), /ALLOW_OPEN/)
  t.doesNotThrow(() => checkExposure(loadConfig({ HOST: '0.0.0.0', ALLOW_OPEN: '1' })))
  t.doesNotThrow(() => checkExposure(loadConfig({ HOST: '0.0.0.0', AUTH_TOKENS: 'reader-token-0001:read' })))
  t.doesNotThrow(() => checkExposure(loadConfig({ HOST: '127.0.0.1' })))
  t.doesNotThrow(() => checkExposure(loadConfig({ HOST: '::1' })))
})
