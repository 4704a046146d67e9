/**
 * A create is exclusive (issue 21.10): two runners started at once on the same workspace, new or stored, never
 * both run their command to the end; the one that loses stops its command and exits non-zero while the
 * winner's command still runs, rather than a third of the lease later at a regular heartbeat.
 */
import type { Test } from 'tap'
import t from 'tap'
import { startService } from './child.js'
import { AGENT, cli, record, runningWith } from './cli.js'

// Each step starts a process (the service, the commands); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

// How long each command runs by itself: well under a third of the default lease (100 s), when a runner that
// lost would otherwise learn it, and far longer than the runners take to start.
const COMMAND_S = 45

/** Starts two runners at once on `name`, each with a `sleep` of its own, and checks that exactly one runs to the end. */
async function race (t: Test, url: string, name: string, before: number): Promise<void> {
  // Durations no other process has, so each command is found by its command line.
  const sleeps = [1, 2].map((i) => `${COMMAND_S}.${process.pid}${before}${i}`)
  const runners = sleeps.map((s) => cli(t, url, ['run', name, ...AGENT, '--', 'sleep', s]))
  const first = await Promise.race(runners.map(async (r, i) => ({ i, code: await r.exited })))
  const loser = runners[first.i] as (typeof runners)[number]
  const winner = runners[1 - first.i] as (typeof runners)[number]
  t.not(first.code, 0, `${name}: the first runner to end is the loser, and it exits non-zero`)
  t.equal(winner.proc.exitCode, null, `${name}: it ended while the winner's command still runs`)
  t.match(loser.stderr, /agent-state: .*(another runner started core\/r\/\w+ first|stale_run).*; stopping the command/, `${name}: and says why`)
  t.same(runningWith(sleeps[first.i] as string), [], `${name}: the loser's command was stopped`)
  t.equal(await winner.exited, 0, `${name}: the winner runs its command to the end`)
  const done = await record(url, name)
  t.match(done, { status: 'completed', note: 'exit code 0' })
  t.ok(done.runs > before, `${name}: a run after the stored ${before}`)
}

t.test('two runners at once on the same workspace: one runs its command to the end, the other stops at once', async (t) => {
  const dir = t.testdir()
  // The default lease (300 s): learning it at a regular heartbeat would take 100 s.
  const svc = await startService(t, { DATA_DIR: `${dir}/data` })
  const stored = await fetch(`${svc.url}/v1/workspaces/core/r/stored`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'completed', agent: 'codex:gpt-5.4', runs: 3 })
  })
  t.equal(stored.status, 201)
  await Promise.all([race(t, svc.url, 'core/r/new', 0), race(t, svc.url, 'core/r/stored', 3)])
})
