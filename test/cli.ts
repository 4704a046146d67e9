/** The real `agent-state` command (built `dist/cli/main.js`) as a child process, for the CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { Test } from 'tap'
import { until as untilHolds } from './helper.js'
import { procStat } from '../src/shared/process-start.js'

const CLI = 'dist/cli/main.js'

export interface Cli {
  proc: ChildProcess
  /** Exit code, or the signal's name. */
  exited: Promise<number | string>
  readonly stdout: string
  readonly stderr: string
}

/** Starts `agent-state <args>` against `url`; killed at teardown if still running. */
export function cli (t: Test, url: string, args: string[], env: Record<string, string> = {}): Cli {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does)`)
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', AGENT_STATE_URL: url, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  return { proc, exited, get stdout () { return stdout }, get stderr () { return stderr } }
}

/** Runs `agent-state <args>` to its end. */
export async function cliDone (t: Test, url: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | string, stdout: string, stderr: string }> {
  const c = cli(t, url, args, env)
  const code = await c.exited
  return { code, stdout: c.stdout, stderr: c.stderr }
}

/** Polls `check` until it returns a value (not undefined), and returns it (helper.ts's until, for values). */
export async function until<T> (what: string, check: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  let got: T | undefined
  await untilHolds(what, async () => (got = await check()) !== undefined, ms)
  return got as T
}

/** GET a JSON answer from the service, or undefined on any failure (the service may be down on purpose). */
export async function getJson (url: string): Promise<any> {
  try {
    const res = await fetch(url)
    return await res.json()
  } catch {
    return undefined
  }
}

/**
 * A shell command for `run`: writes its PID to `$DIR/<tag>.pid` (the shell is the process run spawns), waits for
 * `$DIR/<tag>.go`, then exits with `code`; a SIGTERM is noted in `$DIR/<tag>.term` and exits 7.
 */
export function child (dir: string, tag: string, code = 0): string[] {
  const f = `${dir}/${tag}`
  return ['sh', '-c', `trap 'echo TERM > ${f}.term; exit 7' TERM; echo $$ > ${f}.pid; while [ ! -f ${f}.go ]; do sleep 0.05; done; exit ${code}`]
}

// Short leases so "past several leases" takes seconds; the reaper looks every second.
export const FAST = { LEASE_S: '2', REAPER_INTERVAL_S: '1' }
export const AGENT = ['--agent', 'codex:gpt-5.4']

/** The PID a `child()` command wrote, once it has. */
export const pidOf = (dir: string, tag: string) => until(`${tag}'s pid`, () => {
  try { return Number(readFileSync(`${dir}/${tag}.pid`, 'utf8')) || undefined } catch { return undefined }
})
/** Lets a `child()` command end. */
export const go = (dir: string, tag: string) => writeFileSync(`${dir}/${tag}.go`, '')
export const record = (url: string, name: string) => getJson(`${url}/v1/workspaces/${name}`)
/** Waits until the run's report is stored and a heartbeat came after it (commits are in order, so the report is durable). */
export const beating = (url: string, name: string) => until(`a heartbeat of ${name}`, async () => {
  const r = await record(url, name)
  return r?.pid !== undefined && r.heartbeat_at !== r.updated_at ? r : undefined
})

/** Lets a `child()` command end with 0 and checks the runner exits 0 and the run is `completed`, never reaped. */
export async function completes (t: Test, runner: Cli, dir: string, url: string, name: string): Promise<void> {
  go(dir, 'a')
  t.equal(await runner.exited, 0)
  const done = await record(url, name)
  t.match(done, { status: 'completed', runs: 1 })
  t.notOk('reaped' in done, 'never reaped')
}

/** Whether a process has ended: gone, or a zombie not yet collected by its new parent. */
export const ended = (pid: number | string): boolean => { const stat = procStat(pid); return stat === null || stat[0] === 'Z' }

/** PIDs of the processes still running whose command line (arguments joined by NUL) holds `token`. */
export function runningWith (token: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(token) && !ended(pid)
    } catch {
      return false
    }
  }).map(Number)
}
