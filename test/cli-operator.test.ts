/** The operator read commands over the real service: tables, --json, and --help on every command. */
import t from 'tap'
import { startService } from './child.js'
import { cliDone } from './cli.js'

const TOKENS = { AUTH_TOKENS: 'adm:admin,rd:read' }
const READ = { AGENT_STATE_TOKEN: 'rd' }

// Each step starts a process (the service, the command, its child); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

t.test('reads print the service\'s tables, or JSON with --json', async (t) => {
  const svc = await startService(t, { DATA_DIR: t.testdir(), ...TOKENS })
  const put = await fetch(`${svc.url}/v1/workspaces/core/r/a`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: 'Bearer adm' },
    body: JSON.stringify({ status: 'queued', agent: 'codex:gpt-5.4', runs: 0, task: 'port the tests' })
  })
  t.equal(put.status, 201)
  const cli = (args: string[], env = READ) => cliDone(t, svc.url, args, env)

  // Independent reads, run side by side: each is a process start on a busy machine.
  const [status, statusJson, list, listJson, one, queue, pools, pool] = await Promise.all([
    ['status'], ['status', '--json'], ['workspaces'], ['workspaces', '--status', 'queued', '--json'], ['workspaces', 'core/r/a'],
    ['queue'], ['pools'], ['pools', 'codex', '--json']
  ].map((args) => cli(args)))
  for (const r of [status, statusJson, list, listJson, one, queue, pools, pool]) t.equal(r?.code, 0)
  t.match(status?.stdout, /^STATUS\s+COUNT\n/)
  t.match(status?.stdout, /queued\s+1/)
  t.same(JSON.parse(statusJson?.stdout as string).by_status.queued, 1)
  t.match(list?.stdout, /core\/r\/a\s+queued\s+codex:gpt-5.4/)
  t.same(JSON.parse(listJson?.stdout as string).items.map((w: { name: string }) => w.name), ['core/r/a'])
  t.match(one?.stdout, /task\s+port the tests/)
  t.match(queue?.stdout, /core\/r\/a\s+codex:gpt-5.4\s+0/)
  t.match(pools?.stdout, /codex\s+0\s+unlimited/)
  t.match(JSON.parse(pool?.stdout as string), { pool: 'codex', admissible: true })
})

t.test('--help on every command', async (t) => {
  const url = 'http://127.0.0.1:9'
  const top = await cliDone(t, url, ['--help'])
  t.equal(top.code, 0)
  const commands = [...top.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1] as string)
  t.same(commands, ['run', 'status', 'workspaces', 'pools', 'queue', 'backoff', 'sync', 'reap', 'events', 'mcp'])
  const helps = await Promise.all(commands.map((command) => cliDone(t, url, [command, '--help'])))
  commands.forEach((command, i) => {
    t.equal(helps[i]?.code, 0, `${command} --help`)
    t.match(helps[i]?.stdout, new RegExp(`^usage: agent-state ${command}`))
  })
})
