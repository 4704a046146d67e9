/** `agent-state run` against the real service as a child process: reports with the real PID, heartbeats, exit codes, signals. */
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import t from 'tap'
import { startService } from './child.js'
import { AGENT, beating, child, cli, completes, FAST, go, pidOf, record, until } from './cli.js'
import { processStartMs } from '../src/shared/process-start.js'

// Each step starts a process (the service, the command, its child); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

t.test('a run reports running with the real PID, then its outcome; exit codes pass through', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: `${dir}/data`, ...FAST })
  const runner = cli(t, svc.url, ['run', 'core/go-io/task-1', ...AGENT, '--task', 'fix the flaky test', '--', ...child(dir, 'a', 3)])
  const pid = await pidOf(dir, 'a')
  const running = await until('the running report', async () => {
    const r = await record(svc.url, 'core/go-io/task-1')
    return r?.status === 'running' && r.pid !== undefined ? r : undefined
  })
  t.match(running, { status: 'running', agent: 'codex:gpt-5.4', runs: 1, task: 'fix the flaky test', pid, host: hostname() })
  t.ok(Math.abs(Date.parse(running.pid_started_at) - (processStartMs(pid) as number)) < 1000, 'pid_started_at is the child\'s start time')
  go(dir, 'a')
  t.equal(await runner.exited, 3, 'the runner exits with the command\'s code')
  t.match(await record(svc.url, 'core/go-io/task-1'), { status: 'failed', runs: 1, note: 'exit code 3', question: /exit code 3/ })

  const again = cli(t, svc.url, ['run', 'core/go-io/task-1', ...AGENT, '--', 'sh', '-c', 'exit 0'])
  t.equal(await again.exited, 0)
  t.match(await record(svc.url, 'core/go-io/task-1'), { status: 'completed', runs: 2, note: 'exit code 0', task: 'fix the flaky test' }, 'the next run carries the task over')

  const missing = cli(t, svc.url, ['run', 'core/go-io/task-1', ...AGENT, '--', `${dir}/no-such-command`])
  t.equal(await missing.exited, 127, 'a command that cannot start is 127')
  t.match(await record(svc.url, 'core/go-io/task-1'), { status: 'failed', runs: 3 })
})

t.test('heartbeats keep a run alive past several leases', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: `${dir}/data`, ...FAST })
  const runner = cli(t, svc.url, ['run', 'core/r/long', ...AGENT, '--', ...child(dir, 'a')])
  await pidOf(dir, 'a')
  const first = await beating(svc.url, 'core/r/long')
  // Polled until a heartbeat lands three leases after the first one; a reap shows as soon as it happens.
  const threeLeases = 3 * Number(FAST.LEASE_S) * 1000
  const later = await until('a heartbeat three leases on', async () => {
    const r = await record(svc.url, 'core/r/long')
    return r?.status !== 'running' || Date.parse(r.heartbeat_at) - Date.parse(first.heartbeat_at) > threeLeases ? r : undefined
  })
  t.match(later, { status: 'running' }, 'still running after three leases')
  await completes(t, runner, dir, svc.url, 'core/r/long')
})

t.test('SIGTERM and SIGINT reach the command', async (t) => {
  const dir = t.testdir()
  // The default lease: with FAST's 2 s, a loaded CI machine once let the reaper fail the run before the
  // runner's own report of the exit code arrived, and this test is about signals, not leases.
  const svc = await startService(t, { DATA_DIR: `${dir}/data` })
  const runner = cli(t, svc.url, ['run', 'core/r/sig', ...AGENT, '--', ...child(dir, 'a')])
  await pidOf(dir, 'a')
  await beating(svc.url, 'core/r/sig')
  runner.proc.kill('SIGTERM')
  t.equal(await runner.exited, 7)
  t.equal(readFileSync(`${dir}/a.term`, 'utf8').trim(), 'TERM')
  t.match(await record(svc.url, 'core/r/sig'), { status: 'failed', note: 'exit code 7' })

  const interrupted = cli(t, svc.url, ['run', 'core/r/sig', ...AGENT, '--', 'sleep', '30'])
  await until('the second run', async () => (await record(svc.url, 'core/r/sig'))?.status === 'running' ? true : undefined)
  interrupted.proc.kill('SIGINT')
  t.equal(await interrupted.exited, 130, 'a command ended by SIGINT: 128 + 2')
  t.match(await record(svc.url, 'core/r/sig'), { status: 'failed', runs: 2, note: 'signal SIGINT' })
})
