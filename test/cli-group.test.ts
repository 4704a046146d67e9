/**
 * `agent-state run` owns its command's process group (issue 22.5): signals reach the whole group, and when the
 * command ends nothing it started is left running: a shell's `sleep`, background children with or without a trap.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startService } from './child.js'
import { AGENT, beating, cli, ended, record, runningWith, until } from './cli.js'
import { procStat } from '../src/shared/process-start.js'

// Each step starts a process (the service, the command, its children); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

/** The process group of a running process (field 5 of its stat). */
const groupOf = (pid: number): number | undefined => { const stat = procStat(pid); return stat === null ? undefined : Number(stat[2]) }

const pidsIn = (file: string) => until(`${file}`, () => {
  try { return readFileSync(file, 'utf8').trim().split('\n').map(Number).filter((n) => n > 0) } catch { return undefined }
})

t.test('signals reach the whole group, and nothing of it outlives the command', async (t) => {
  const dir = t.testdir()
  const svc = await startService(t, { DATA_DIR: `${dir}/data` })
  // A duration no other process on the machine has: `sleep <token>` is found by its command line.
  let n = 0
  const token = () => `100.${process.pid}${++n}`

  await t.test("SIGINT to the runner of `sh -c 'sleep …'` ends the sleep", async (t) => {
    const sleep = token()
    const runner = cli(t, svc.url, ['run', 'core/g/plain', ...AGENT, '--', 'sh', '-c', `sleep ${sleep}`])
    const running = await beating(svc.url, 'core/g/plain')
    const sleeping = await until('the sleep', () => runningWith(`sleep\0${sleep}\0`)[0])
    t.equal(groupOf(sleeping), running.pid, 'the sleep is in the group the reported command leads')
    runner.proc.kill('SIGINT')
    t.equal(await runner.exited, 130)
    t.same(runningWith(sleep), [], 'nothing of the command is left')
    t.match(await record(svc.url, 'core/g/plain'), { status: 'failed', note: 'signal SIGINT' })
  })

  await t.test('SIGTERM to the runner of a trapping shell ends its background children', async (t) => {
    const sleep = token()
    const pids = `${dir}/trap.pids`
    const runner = cli(t, svc.url, ['run', 'core/g/trap', ...AGENT, '--', 'sh', '-c',
      `trap 'exit 3' TERM; sleep ${sleep} & echo $! > ${pids}.tmp; sleep ${sleep} & echo $! >> ${pids}.tmp; mv ${pids}.tmp ${pids}; wait`])
    await beating(svc.url, 'core/g/trap')
    const children = await pidsIn(pids)
    t.equal(children.length, 2)
    runner.proc.kill('SIGTERM')
    t.equal(await runner.exited, 3, "the shell's trap ran")
    t.same(runningWith(sleep), [], 'both background children ended with it')
    for (const pid of children) t.ok(ended(pid), `child ${pid} has ended`)
  })

  await t.test('SIGINT to the runner of a shell without a trap: its background child (SIGINT ignored) is ended too', async (t) => {
    const sleep = token()
    const pids = `${dir}/bg.pids`
    const runner = cli(t, svc.url, ['run', 'core/g/bg', ...AGENT, '--', 'sh', '-c', `sleep ${sleep} & echo $! > ${pids}.tmp; mv ${pids}.tmp ${pids}; wait`])
    await beating(svc.url, 'core/g/bg')
    await pidsIn(pids)
    runner.proc.kill('SIGINT')
    t.not(await runner.exited, 0)
    t.same(runningWith(sleep), [], 'the background child is gone')
  })

  await t.test('a command that exits and leaves children behind: they are stopped, the outcome stands', async (t) => {
    const sleep = token()
    const runner = cli(t, svc.url, ['run', 'core/g/left', ...AGENT, '--', 'sh', '-c', `sleep ${sleep} & sleep ${sleep} & exit 0`])
    t.equal(await runner.exited, 0)
    t.same(runningWith(sleep), [], 'nothing of the group is left')
    t.match(runner.stderr, /left 2 processes running in its group; stopping them/)
    t.match(await record(svc.url, 'core/g/left'), { status: 'completed', note: 'exit code 0' })
  })
})
