/**
 * The service as a real child process (for crash, lock and signal tests). By default it runs the compiled
 * `dist/boot/server.js` exactly as `npm start` does (`npm test` builds first): starting from source through
 * the TS loader took three times as long. A `.ts` entry (a test fixture) runs through tap's TS loader.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import type { Test } from 'tap'

const SERVER = 'dist/boot/server.js'
// How tap itself loads TypeScript; transpile-only, since `npm test` type-checks first.
const TS_LOADER = '--import=' + pathToFileURL('node_modules/@tapjs/typescript/dist/esm/import.mjs').href

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

export interface SpawnOptions {
  /** The soft descriptor limit (`ulimit -n`) to run the service under. */
  openFiles?: number
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
  const proc = spawn(command, argv, {
    env: { PATH: process.env.PATH ?? '', TS_NODE_TRANSPILE_ONLY: '1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
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
