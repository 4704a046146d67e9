/** `agent-state run` against the real service as a child process: reports, heartbeats, restarts, reaps, signals. */
import { readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startService } from './child.js'
import { child, cli, getJson, until } from './cli.js'
import { processStartMs } from '../src/store/reaper/liveness.js'

// Short leases so "past several leases" takes seconds; the reaper looks every second.
const FAST = { LEASE_S: '2', REAPER_INTERVAL_S: '1' }
const AGENT = ['--agent', 'codex:gpt-5.4']

const pidOf = (dir: string, tag: string) => until(`${tag}'s pid`, () => {
  try { return Number(readFileSync(`${dir}/${tag}.pid`, 'utf8')) || undefined } catch { return undefined }
})
const go = (dir: string, tag: string) => writeFileSync(`${dir}/${tag}.go`, '')
const record = (url: string, name: string) => getJson(`${url}/v1/workspaces/${name}`)
/** Waits until the run's report is stored and a heartbeat came after it (commits are in order, so the report is durable). */
const beating = (url: string, name: string) => until(`a heartbeat of ${name}`, async () => {
  const r = await record(url, name)
  return r?.pid !== undefined && r.heartbeat_at !== r.updated_at ? r : undefined
})

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
  await sleep(6500)
  t.match(await record(svc.url, 'core/r/long'), { status: 'running' }, 'still running after three leases')
  go(dir, 'a')
  t.equal(await runner.exited, 0)
  const done = await record(svc.url, 'core/r/long')
  t.match(done, { status: 'completed', runs: 1 })
  t.notOk('reaped' in done)
})

t.test('the service is killed and restarted mid-run: the run is not reaped and its outcome arrives', async (t) => {
  const dir = t.testdir()
  const env = { DATA_DIR: `${dir}/data`, ...FAST }
  const first = await startService(t, env)
  const runner = cli(t, first.url, ['run', 'core/r/task', ...AGENT, '--', ...child(dir, 'a', 0)])
  await pidOf(dir, 'a')
  await beating(first.url, 'core/r/task')
  await first.kill('SIGKILL')
  await sleep(2500)
  t.match(runner.stderr, /heartbeat failed/, 'the runner noticed and kept retrying')
  const port = new URL(first.url).port
  const second = await startService(t, { ...env, PORT: port })
  await sleep(3000)
  const across = await record(second.url, 'core/r/task')
  t.match(across, { status: 'running', runs: 1 }, 'alive across the restart and past the new lease', { across, stderr: runner.stderr })
  go(dir, 'a')
  t.equal(await runner.exited, 0)
  const done = await record(second.url, 'core/r/task')
  t.match(done, { status: 'completed', runs: 1 })
  t.notOk('reaped' in done)
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
  await sleep(1500)
  t.equal(runner.proc.exitCode, null, 'the runner holds on to the outcome')
  const second = await startService(t, { ...env, PORT: new URL(first.url).port })
  t.equal(await runner.exited, 0)
  t.match(await record(second.url, 'core/r/late'), { status: 'completed', runs: 1 })

  await second.kill('SIGKILL')
  const gaveUp = cli(t, second.url, ['run', 'core/r/late', ...AGENT, '--report-wait', '1', '--', 'sh', '-c', 'exit 5'])
  t.equal(await gaveUp.exited, 5, 'past --report-wait the runner still exits with the command\'s code')
  t.match(gaveUp.stderr, /gave up reporting failed/)
})

t.test('a run the service reaped stops its command; --keep-on-reap keeps it', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: `${dir}/data`, ...FAST })
  const runner = cli(t, svc.url, ['run', 'core/r/ghost', ...AGENT, '--', ...child(dir, 'a')])
  await pidOf(dir, 'a')
  await until('the running report', async () => (await record(svc.url, 'core/r/ghost'))?.pid !== undefined ? true : undefined)
  // A stopped runner sends no heartbeats: the lease runs out and the reaper fails the run.
  runner.proc.kill('SIGSTOP')
  const reaped = await until('the reap', async () => { const r = await record(svc.url, 'core/r/ghost'); return r?.reaped !== undefined ? r : undefined })
  t.match(reaped, { status: 'failed', reaped: { reason: 'lease_expired' } })
  runner.proc.kill('SIGCONT')
  t.equal(await runner.exited, 7, 'the command got SIGTERM and its trap exited 7')
  t.equal(readFileSync(`${dir}/a.term`, 'utf8').trim(), 'TERM')
  t.match(runner.stderr, /not_running/)
  t.match(await record(svc.url, 'core/r/ghost'), { status: 'failed', reaped: { reason: 'lease_expired' } }, 'the verdict stands')

  const kept = cli(t, svc.url, ['run', 'core/r/ghost', ...AGENT, '--keep-on-reap', '--', ...child(dir, 'b')])
  await pidOf(dir, 'b')
  await until('the second run', async () => (await record(svc.url, 'core/r/ghost'))?.runs === 2 ? true : undefined)
  kept.proc.kill('SIGSTOP')
  await until('the second reap', async () => (await record(svc.url, 'core/r/ghost'))?.reaped !== undefined ? true : undefined)
  kept.proc.kill('SIGCONT')
  await until('the runner noticing', () => /keep-on-reap/.test(kept.stderr) ? true : undefined)
  t.equal(kept.proc.exitCode, null, 'the command keeps running')
  go(dir, 'b')
  t.equal(await kept.exited, 0)
  t.match(await record(svc.url, 'core/r/ghost'), { status: 'failed', runs: 2, reaped: { reason: 'lease_expired' } }, 'no outcome overwrites the reap')
})

t.test('SIGTERM and SIGINT reach the command', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: `${dir}/data`, ...FAST })
  const runner = cli(t, svc.url, ['run', 'core/r/sig', ...AGENT, '--', ...child(dir, 'a')])
  await pidOf(dir, 'a')
  await until('the running report', async () => (await record(svc.url, 'core/r/sig'))?.pid !== undefined ? true : undefined)
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
