/** `agent-state run` through kills and restarts of the service: no reap, no lost outcome, a bounded final wait. */
import t from 'tap'
import { startService } from './child.js'
import { AGENT, beating, child, cli, completes, FAST, go, pidOf, record, until } from './cli.js'

// Each step starts a process (the service, the command, its child); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

t.test('the service is killed and restarted mid-run: the run is not reaped and its outcome arrives', async (t) => {
  const dir = t.testdir()
  const env = { DATA_DIR: `${dir}/data`, ...FAST }
  const first = await startService(t, env)
  const runner = cli(t, first.url, ['run', 'core/r/task', ...AGENT, '--', ...child(dir, 'a', 0)])
  await pidOf(dir, 'a')
  await beating(first.url, 'core/r/task')
  await first.kill('SIGKILL')
  await until('the runner noticing', () => /heartbeat failed/.test(runner.stderr) || undefined)
  t.match(runner.stderr, /heartbeat failed/, 'the runner noticed and kept retrying')
  const port = new URL(first.url).port
  const second = await startService(t, { ...env, PORT: port })
  // Polled until a heartbeat lands a whole lease after the restart; a reap shows as soon as it happens.
  const restarted = Date.now()
  const across = await until('a heartbeat a lease after the restart', async () => {
    const r = await record(second.url, 'core/r/task')
    return r?.status !== 'running' || Date.parse(r.heartbeat_at) - restarted > Number(FAST.LEASE_S) * 1000 ? r : undefined
  })
  t.match(across, { status: 'running', runs: 1 }, 'alive across the restart and past the new lease', { across, stderr: runner.stderr })
  await completes(t, runner, dir, second.url, 'core/r/task')
})

t.test('the final report waits for a service that is down, within --report-wait', async (t) => {
  const dir = t.testdir()
  // PID checks off: a command that ends while the service is down would otherwise be reaped at its start-up.
  const env = { DATA_DIR: `${dir}/data`, ...FAST, LEASE_S: '30', REAPER_PID_CHECK: 'off' }
  const first = await startService(t, env)
  const runner = cli(t, first.url, ['run', 'core/r/late', ...AGENT, '--', ...child(dir, 'a', 0)])
  await pidOf(dir, 'a')
  await beating(first.url, 'core/r/late')
  await first.kill('SIGKILL')
  go(dir, 'a')
  await until('a failed report of the outcome', () => /cannot report completed for core\/r\/late yet/.test(runner.stderr) || undefined)
  t.equal(runner.proc.exitCode, null, 'the runner holds on to the outcome')
  const second = await startService(t, { ...env, PORT: new URL(first.url).port })
  t.equal(await runner.exited, 0)
  t.match(await record(second.url, 'core/r/late'), { status: 'completed', runs: 1 })

  await second.kill('SIGKILL')
  const gaveUp = cli(t, second.url, ['run', 'core/r/late', ...AGENT, '--report-wait', '1', '--', 'sh', '-c', 'exit 5'])
  t.equal(await gaveUp.exited, 5, 'past --report-wait the runner still exits with the command\'s code')
  t.match(gaveUp.stderr, /gave up reporting failed/)
})
