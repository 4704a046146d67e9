/**
 * A clean stop from a terminal: the real `npm start` in a pseudo-terminal (util-linux `script`), stopped by Ctrl-C
 * typed into it, ten times in a row; and by SIGINT or SIGTERM sent to its process group. Each time the terminal's
 * signal reaches node twice (once from the terminal or the group signal, once forwarded by npm); each time the
 * service must close (its `closed:` line) and exit 0. A signal that comes after the repeat window forces the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { REPEAT_WINDOW_MS } from '../src/boot/signals.js'
import { until } from './helper.js'

// Each round starts npm and the service; on a busy 2-core machine that is seconds each.
t.setTimeout(600_000)

const ROUNDS = 10
const CLOSED = 'closed: every write is stored and the store checkpointed'

interface Started {
  proc: ChildProcess
  output: () => string
  exited: Promise<number | string>
}

/** Starts `command` with the service's environment on a fresh DATA_DIR, and waits until the service listens. */
async function start (t: Test, command: string, args: string[], opts: { detached?: boolean } = {}): Promise<Started> {
  const proc = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATA_DIR: t.testdir(), PORT: '0', LOG_LEVEL: 'info', TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached === true
  })
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      try { process.kill(opts.detached === true ? -(proc.pid as number) : proc.pid as number, 'SIGKILL') } catch {}
    }
    await exited
  })
  await until('the service listens', () => out.includes('agent-state listening on') || proc.exitCode !== null, 120_000)
  if (!out.includes('agent-state listening on')) throw new Error(`did not start: ${out}`)
  return { proc, output: () => out, exited }
}

t.test(`Ctrl-C on npm start in a terminal closes cleanly, ${ROUNDS} times in a row`, async (t) => {
  for (let round = 1; round <= ROUNDS; round++) {
    // `script -e` runs the command in a new pseudo-terminal and exits with its status; what is written to its input
    // is typed at that terminal, so ETX (Ctrl-C) makes the terminal send SIGINT to npm and node alike. `exec`: npm
    // is the terminal's job, as when a person types `npm start` at a shell prompt (a `sh -c` left waiting in
    // between would itself die of the SIGINT and report 130, whatever npm did).
    const s = await start(t, 'script', ['-qfec', 'exec npm start', '/dev/null'])
    s.proc.stdin?.write('\x03')
    const code = await s.exited
    t.equal(code, 0, `round ${round}: exit 0`)
    t.ok(s.output().includes(CLOSED), `round ${round}: the closed line`)
    t.notMatch(s.output(), /second SIGINT|exiting now/, `round ${round}: the second SIGINT is the same request`)
  }
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${signal} to npm start's process group closes cleanly`, async (t) => {
    for (let round = 1; round <= 2; round++) {
      const s = await start(t, 'npm', ['start'], { detached: true })
      process.kill(-(s.proc.pid as number), signal)
      const code = await s.exited
      t.equal(code, 0, `round ${round}: npm exits 0`)
      t.ok(s.output().includes(CLOSED), `round ${round}: the closed line`)
    }
  })
}

t.test('a repeat within the window is the same stop; one after it forces the exit', async (t) => {
  // The signal logic of the built service in a process whose close never finishes, so the third signal decides.
  const script = `import { closeOnStopSignals } from './dist/boot/signals.js'
const log = { info: (_o, m) => console.log(m), warn: (_o, m) => console.log(m) }
closeOnStopSignals(() => { console.log('closing'); return new Promise(() => {}) }, log)
setInterval(() => {}, 1000)
console.log('ready')`
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL') })
  await until('ready', () => out.includes('ready'))
  proc.kill('SIGINT')
  await until('the close starts', () => out.includes('SIGINT: stopping'))
  proc.kill('SIGTERM')
  await until('the repeat is logged', () => out.includes('SIGTERM again within'))
  t.equal(out.match(/^closing$/gm)?.length, 1, 'one close for both')
  t.equal(proc.exitCode, null, 'a repeat within the window does not force')
  await sleep(REPEAT_WINDOW_MS + 200)
  proc.kill('SIGINT')
  t.equal(await exited, 1, 'a later signal forces exit 1')
  t.match(out, /SIGINT again while closing: exiting now/)
})
