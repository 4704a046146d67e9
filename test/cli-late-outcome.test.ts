/**
 * A command that ends while the service is down (issue 22.6): the restart reaps its run (`pid_dead`, rightly:
 * the process is gone), then the runner delivers the outcome it held, with the time the command ended, and
 * that evidence is what the record, the run history and the backoff count keep. A final report the service
 * refuses is said on stderr and makes the runner exit non-zero.
 */
import type { Test } from 'tap'
import t from 'tap'
import { startService } from './child.js'
import { AGENT, beating, child, cli, getJson, go, pidOf, record, until } from './cli.js'

// Each step starts a process (the service, the command); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

const put = (url: string, path: string, body: object) => fetch(`${url}${path}`, {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
})

/**
 * Runs a command for `name` until it is running, stops the service (`before` runs first), lets the command end
 * and waits until the runner holds its outcome; `restart` starts the service again on the same port and folder.
 */
async function commandEndsWhileDown (t: Test, name: string, before: (url: string) => Promise<void> = async () => {}) {
  const dir = t.testdir()
  const env = { DATA_DIR: `${dir}/data` }
  const first = await startService(t, env)
  await before(first.url)
  const runner = cli(t, first.url, ['run', name, ...AGENT, '--', ...child(dir, 'a', 0)])
  await pidOf(dir, 'a')
  await beating(first.url, name)
  await first.kill('SIGTERM')
  go(dir, 'a')
  await until('the runner holding the outcome', () => /cannot report completed/.test(runner.stderr) ? true : undefined)
  return { runner, restart: () => startService(t, { ...env, PORT: new URL(first.url).port }) }
}

t.test('the service is down when the command ends: the restart reaps the run, the outcome then overrules the reap', async (t) => {
  // One counted failure would back the pool off: a reap that counted would show.
  const { runner, restart } = await commandEndsWhileDown(t, 'core/r/outage', async (url) => {
    t.equal((await put(url, '/v1/config', { backoff: { fail_threshold: 1 } })).status, 200)
  })
  const second = await restart()
  const recovery = await getJson(`${second.url}/v1/recovery`)
  t.match(recovery.reaped, [{ name: 'core/r/outage', reason: 'pid_dead' }], 'the restart reaped the run')
  t.equal(await runner.exited, 0)
  t.notMatch(runner.stderr, /refused/)

  const done = await record(second.url, 'core/r/outage')
  t.match(done, { status: 'completed', runs: 1, note: 'exit code 0' })
  t.notOk('reaped' in done, 'the outcome overruled the reap')
  const events = (await getJson(`${second.url}/v1/events/log?type=workspace&subject=core/r/outage`)).items.map((e: { data: unknown }) => e.data)
  t.match(events, [{ action: 'updated', status: 'completed', overrules: { reason: 'pid_dead' } }, { action: 'reaped', at_startup: true }], 'the reap is in the events')
  t.match(await getJson(`${second.url}/v1/pools/codex`), { admissible: true, backoff_until: null, fail_count: 0 }, 'no backoff')
  const stats = await getJson(`${second.url}/v1/stats/runs`)
  t.match(stats.groups, [{ count: 1, completed: 1, reaped: 0 }], 'the history counts the run completed')
})

t.test('a final report the service refuses: said on stderr, and the runner exits non-zero', async (t) => {
  const { runner, restart } = await commandEndsWhileDown(t, 'core/r/taken')
  // While the runner is held, a newer run takes the workspace: the outcome of run 1 comes too late.
  runner.proc.kill('SIGSTOP')
  const second = await restart()
  t.equal((await put(second.url, '/v1/workspaces/core/r/taken', { status: 'running', agent: 'codex:gpt-5.4', runs: 2 })).status, 200)
  runner.proc.kill('SIGCONT')
  t.equal(await runner.exited, 1, 'the command exited 0, but its outcome is not recorded')
  t.match(runner.stderr, /the service refused the completed report, so the run's outcome is not recorded: 409 stale_run/)
  t.match(await record(second.url, 'core/r/taken'), { status: 'running', runs: 2 })
})
