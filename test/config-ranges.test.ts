/** Issue 11, case 10: configuration out of range is refused at start-up, naming the variable. */
import t from 'tap'
import { checkDataDir, loadConfig } from '../src/boot/config.js'

t.test('intervals that would overflow a timer, a memory limit too small to open a store, tokens that can never match', async (t) => {
  for (const [name, value] of [
    ['REAPER_INTERVAL_S', '2147484'],
    ['STORE_RETRY_S', '99999999'],
    ['SSE_KEEPALIVE_S', '86400'],
    ['CLOSE_GRACE_MS', '2147483648'],
    ['SYNC_TIMEOUT_MS', '1e12'],
    ['LEASE_S', '99999999999'],
    ['DB_MEMORY_LIMIT', '0MB'],
    ['DB_MEMORY_LIMIT', '10MB'],
    ['DB_MEMORY_LIMIT', '512KB'],
    ['BUFFERS_MAX_OPEN', '0'],
    ['SYNC_QUEUE_MAX_BYTES', '10'],
    ['MCP_SESSIONS_MAX', '0'],
    ['MCP_SESSION_IDLE_S', '0'],
    ['MCP_SESSION_IDLE_S', '99999999'],
    ['MCP_SUBSCRIPTIONS_MAX', '0'],
    ['AUTH_TOKENS', 'two words:read'],
    ['AUTH_TOKENS', 'tab\there:write']
  ] as const) {
    t.throws(() => loadConfig({ [name]: value }), new RegExp(name), `${name}=${JSON.stringify(value)} is refused`)
  }
  t.equal(loadConfig({ DB_MEMORY_LIMIT: '1GB' }).dbMemoryLimit, '1GB')
  t.equal(loadConfig({ AUTH_TOKENS: 'abc-DEF_1.2~x+y/z==:admin' }).tokens.get('abc-DEF_1.2~x+y/z=='), 'admin')
  t.match(loadConfig({}).limits, { buffersOpen: 64, syncItems: 10000 })
  t.match(loadConfig({}), { mcpSessionsMax: 256, mcpSessionIdleS: 900, mcpSubscriptionsMax: 1000 })
})

t.test('a data folder that is a file stops start-up with one line naming it', async (t) => {
  const dataDir = t.testdir({ volume: 'not a folder' })
  const file = `${dataDir}/volume`
  t.throws(() => checkDataDir(loadConfig({ DATA_DIR: file })), new RegExp(`DATA_DIR=${file} is not a folder`))
  t.doesNotThrow(() => checkDataDir(loadConfig({ DATA_DIR: `${dataDir}/not-yet` })), 'a folder not made yet is fine')
})
