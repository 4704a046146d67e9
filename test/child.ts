/**
 * The service as a real child process (for crash, lock and signal tests). By default it runs the compiled
 * entry unbundled, `dist/boot/server-modules.js`: the same code `npm start` runs as one bundle (`npm test`
 * builds first). A `.ts` entry (a test fixture)
 * runs through the tests' own TS loader (test/loader). Either way tap's process tracking, which the child
 * inherits, records its coverage when it exits (not after a SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import type { Test } from 'tap'

// The service's entry unbundled (scripts/bundle-server.mjs says why): coverage maps to each source file.
const SERVER = 'dist/boot/server-modules.js'
// How the tests themselves load TypeScript (.taprc): transpile-only, `npm test` type-checks beside the run.
const TS_LOADER = '--import=' + pathToFileURL('test/loader/register.mjs').href

export interface Service {
  /** `http://127.0.0.1:<port>` once it listens. */
  url: string
  proc: ChildProcess
  /** Every stdout line so far, and those that were JSON log entries. */
  lines: string[]
  logs: Array<Record<string, unknown>>
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>
  /** Everything written to stderr so far. */
  readonly stderr: string
  /** Sends `signal` (SIGKILL by default) and resolves once the process is gone. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

/** Who the service runs as: another user than the test's (root), as a service that is not the agents' user does. */
export interface RunAs {
  uid: number
  gid: number
}

export interface SpawnOptions {
  /** The soft descriptor limit (`ulimit -n`) to run the service under. */
  openFiles?: number
  /** Another user to run the service as. */
  runAs?: RunAs
}

/**
 * tap's process-info hook rides into every child and, at exit, writes under `<cwd>/.tap/`, which is the
 * test's (root's): a child running as another user would fail there and exit 1. It gets a folder of its own.
 */
function tapFolderOf (t: Test, runAs: RunAs): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-state-tap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  chownSync(dir, runAs.uid, runAs.gid)
  return { _TAPJS_PROCESSINFO_CWD_: dir }
}

/** Spawns the service without waiting: `listening` resolves with its URL, or rejects if it exits first. */
export function spawnService (t: Test, env: Record<string, string>, entry = SERVER, opts: SpawnOptions = {}): Service & { listening: Promise<string> } {
  const ts = entry.endsWith('.ts')
  if (!ts && !existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm test does)`)
  const args = ts ? [TS_LOADER, entry] : [entry]
  // Through a shell for the limit; `exec` keeps the service the child itself, so signals reach it.
  const [command, argv] = opts.openFiles === undefined
    ? [process.execPath, args]
    : ['sh', ['-c', `ulimit -n ${opts.openFiles} && exec "$0" "$@"`, process.execPath, ...args]]
  const { runAs } = opts
  const proc = spawn(command, argv, {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...(runAs === undefined ? {} : tapFolderOf(t, runAs)), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...runAs
  })
  const lines: string[] = []
  const logs: Array<Record<string, unknown>> = []
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lines.push(line)
      try { logs.push(JSON.parse(line) as Record<string, unknown>) } catch {}
      const m = /agent-state listening on (http:\/\/[0-9.]+:\d+)/.exec(line)
      if (m !== null) resolve(m[1] as string)
    })
    void exited.then((code) => reject(new Error(`service exited (${code}) before listening: ${lines.slice(-3).join(' | ')} ${stderr}`)))
  })
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    await exited
  }
  t.teardown(() => kill())
  return { url: '', proc, lines, logs, exited, listening, kill, get stderr () { return stderr } }
}

/** How a start that should fail ends: its exit code, or `listening` when it started after all (then it is left running for the teardown). */
export function startOutcome (s: Service & { listening: Promise<string> }): Promise<number | string> {
  return Promise.race([s.exited, s.listening.then(() => 'listening', () => s.exited)])
}

/** Starts the service (or a `.ts` fixture entry) and waits until it listens. */
export async function startService (t: Test, env: Record<string, string>, entry?: string, opts?: SpawnOptions): Promise<Service> {
  const s = spawnService(t, env, entry, opts)
  s.url = await s.listening
  return s
}
