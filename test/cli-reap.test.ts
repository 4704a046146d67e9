/** `agent-state run` when the service reaps its run: the command is stopped, or kept with --keep-on-reap. */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startService } from './child.js'
import { AGENT, beating, child, cli, FAST, go, pidOf, record, until } from './cli.js'

// Each step starts a process (the service, the command, its child); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

t.test('a run the service reaped stops its command; --keep-on-reap keeps it', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: `${dir}/data`, ...FAST })
  const runner = cli(t, svc.url, ['run', 'core/r/ghost', ...AGENT, '--', ...child(dir, 'a')])
  await pidOf(dir, 'a')
  await beating(svc.url, 'core/r/ghost')
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
