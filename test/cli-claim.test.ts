/** `agent-state run --claim`: queued work in drain order, limits held with several runners at once, waiting for work. */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startService } from './child.js'
import { cli, FAST, go, record, until } from './cli.js'

/** A claimed command: notes its workspace and task in `$DIR/<leaf>.started`, then waits for `$DIR/<leaf>.go`. */
const claimed = (dir: string): string[] => ['sh', '-c',
  `leaf=\${AGENT_STATE_WORKSPACE##*/}; echo "$AGENT_STATE_WORKSPACE|$AGENT_STATE_TASK|$AGENT_STATE_RUNS" > ${dir}/$leaf.started; ` +
  `while [ ! -f ${dir}/$leaf.go ]; do sleep 0.05; done`]

const started = (dir: string, leaf: string) => until(`${leaf} to start`, () => {
  try { return readFileSync(`${dir}/${leaf}.started`, 'utf8').trim() } catch { return undefined }
})

// Each step starts a process (the service, the command, its child); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

t.test('--claim takes queued work in drain order and never more than the pool allows', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: `${dir}/data`, ...FAST })
  const put = (name: string, body: object) => fetch(`${svc.url}/v1/workspaces/${name}`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  t.equal((await fetch(`${svc.url}/v1/config`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ concurrency: { codex: 2 } })
  })).status, 200)
  for (const [leaf, priority] of [['d', 0], ['c', 1], ['b', 2], ['a', 3]] as const) {
    t.equal((await put(`core/r/${leaf}`, { status: 'queued', agent: 'codex:gpt-5.4', runs: 0, task: `task ${leaf}`, priority })).status, 201)
  }
  const args = ['run', '--claim', '--pool', 'codex', '--', ...claimed(dir)]
  const runners = [cli(t, svc.url, args), cli(t, svc.url, args), cli(t, svc.url, args)]
  t.same(await Promise.race(runners.map((r) => r.exited)), 4, 'one of three finds nothing admissible and exits 4')
  t.equal(await started(dir, 'a'), 'core/r/a|task a|1', 'the first in drain order, with its name, task and run in the environment')
  t.equal(await started(dir, 'b'), 'core/r/b|task b|1')
  const pool = await (await fetch(`${svc.url}/v1/pools/codex`)).json()
  t.match(pool, { running: 2, limit: 2, admissible: false, reasons: ['pool_full'] })

  const waiting = cli(t, svc.url, ['run', '--claim', '--wait', '30', '--', ...claimed(dir)])
  go(dir, 'a')
  t.equal(await started(dir, 'c'), 'core/r/c|task c|1', 'a slot frees: the waiting runner takes the next in drain order')
  t.match(await record(svc.url, 'core/r/a'), { status: 'completed' })
  for (const leaf of ['b', 'c']) go(dir, leaf)
  t.equal(await waiting.exited, 0)
  for (const leaf of ['a', 'b', 'c']) t.match(await record(svc.url, `core/r/${leaf}`), { status: 'completed', runs: 1 })
  t.match(await record(svc.url, 'core/r/d'), { status: 'queued' })
})
