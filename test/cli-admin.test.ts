/** The admin commands over the real service: backoff, reap, sync; problem lines and exit codes. */
import { createServer } from 'node:net'
import t from 'tap'
import { startService } from './child.js'
import { cliDone } from './cli.js'

const TOKENS = { AUTH_TOKENS: 'adm-token-0123456789:admin,rd-token-0123456789:read' }
const ADMIN = { AGENT_STATE_TOKEN: 'adm-token-0123456789' }
const READ = { AGENT_STATE_TOKEN: 'rd-token-0123456789' }

/** A loopback port nothing listens on. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

// Each step starts a process (the service, the command, its child); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

t.test('admin commands, problem lines and exit codes', async (t) => {
  const svc = await startService(t, { DATA_DIR: t.testdir(), ...TOKENS })
  const cli = (args: string[], env = ADMIN) => cliDone(t, svc.url, args, env)

  const forbidden = await cli(['backoff', 'set', 'codex', '--seconds', '60', '--reason', 'outage'], READ)
  t.equal(forbidden.code, 1, 'an error answer exits 1')
  t.match(forbidden.stderr, /^agent-state backoff: 403 forbidden: .+\n$/, 'as one readable line')
  const set = await cli(['backoff', 'set', 'codex', '--seconds', '60', '--reason', 'outage', '--json'])
  t.equal(set.code, 0)
  t.match(JSON.parse(set.stdout), { pool: 'codex', backoff_reason: 'outage' }, 'the pool as stored')
  t.match(JSON.parse((await cli(['pools', 'codex', '--json'])).stdout), { backoff_reason: 'outage', reasons: ['backoff'] })
  const invalid = await cli(['backoff', 'set', 'codex', '--seconds=-5', '--reason', 'x'])
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, /400 validation_failed: .*\(body\.seconds: /, 'each bad field is named')
  t.equal((await cli(['backoff', 'clear', 'codex'])).code, 0)
  // A pool known only through its backoff is no pool once the backoff is cleared.
  const pools = JSON.parse((await cli(['pools', '--json'])).stdout) as { items: Array<{ pool: string, backoff_until: string | null }> }
  t.notOk(pools.items.some((p) => p.pool === 'codex' && p.backoff_until !== null), 'no backoff left on codex')

  const reap = await cli(['reap'])
  t.equal(reap.code, 0)
  t.match(reap.stdout, /NAME\s+REASON\s+EVIDENCE\s+AT\n\(none\)/)

  const queued = await fetch(`${svc.url}/v1/sync/queue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer adm-token-0123456789' },
    body: JSON.stringify({ agent_id: 'charon', dispatches: [{ workspace: 'core/r/a', status: 'completed' }] })
  })
  const { id } = await queued.json() as { id: string }
  t.match(JSON.parse((await cli(['sync', 'status', '--json'])).stdout), { queued: 1, dead: 0, upstream_configured: false })
  t.match((await cli(['sync', 'status'])).stdout, /queued\s+1/)
  const notDead = await cli(['sync', 'replay', id])
  t.equal(notDead.code, 1)
  t.match(notDead.stderr, /404 not_found/)
  t.equal((await cli(['sync', 'drop', '--queued', id])).code, 0)
  t.match(JSON.parse((await cli(['sync', 'status', '--json'])).stdout), { queued: 0 })

  const [noToken, unknownOption, badName, noCommand, unknownCommand] = await Promise.all([
    cli(['status'], {} as typeof ADMIN), cli(['workspaces', '--colour', 'red']), cli(['workspaces', 'not-a-name']),
    cli(['run', 'core/r/a', '--agent', 'codex']), cli(['frobnicate'])
  ])
  t.equal(noToken.code, 1, 'no token: 401')
  t.equal(unknownOption.code, 2, 'an unknown option is a usage error')
  t.equal(badName.code, 2)
  t.equal(noCommand.code, 2, 'run without a command')
  t.equal(unknownCommand.code, 2)
  const gone = await cliDone(t, `http://127.0.0.1:${await closedPort()}`, ['status'])
  t.equal(gone.code, 3, 'an unreachable service exits 3')
  t.match(gone.stderr, /cannot reach .*ECONNREFUSED/)
})
