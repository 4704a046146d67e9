/**
 * The service as a real child process (for crash, lock and signal tests). It runs the compiled
 * `dist/boot/server.js` exactly as `npm start` does (`npm test` builds first): starting it from source
 * through the TS loader took three times as long.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { existsSync } from 'node:fs'
import type { Test } from 'tap'

const SERVER = 'dist/boot/server.js'

export interface Service {
  url: string
  proc: ChildProcess
  /** Every stdout line so far (JSON log lines). */
  lines: string[]
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>
  /** Everything written to stderr so far. */
  readonly stderr: string
}

/** Spawns the service without waiting: `listening` resolves with its URL, or rejects if it exits first. */
export function spawnService (t: Test, env: Record<string, string>): Service & { listening: Promise<string> } {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` (npm test does)`)
  const proc = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: string[] = []
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lines.push(line)
      const m = /agent-state listening on (http:\/\/[^;]+);/.exec(line)
      if (m !== null) resolve(m[1] as string)
    })
    void exited.then((code) => reject(new Error(`service exited (${code}) before listening: ${lines.slice(-3).join(' | ')}`)))
  })
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  const service = { url: '', proc, lines, exited, listening, get stderr () { return stderr } }
  return service
}

/** Starts the service and waits until it listens. */
export async function startService (t: Test, env: Record<string, string>): Promise<Service> {
  const s = spawnService(t, env)
  s.url = await s.listening
  return s
}
