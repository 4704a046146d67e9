/** The service as a real child process, so a test can kill it the way a crash would (SIGKILL) and start it again. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import type { Test } from 'tap'

// How tap itself loads TypeScript; transpile-only, since `npm test` type-checks first.
const LOADER = '--import=' + pathToFileURL('node_modules/@tapjs/typescript/dist/esm/import.mjs').href

export interface Service {
  /** `http://127.0.0.1:<port>` */
  url: string
  proc: ChildProcess
  /** Every JSON log line the service wrote to stdout so far. */
  logs: Array<Record<string, unknown>>
  /** Sends `signal` (SIGKILL by default) and resolves once the process is gone. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

/**
 * Starts `entry` (the service by default) with `env` on top of ours, PORT=0 and LOG_LEVEL=info, and
 * resolves once it logs that it listens. Killed at teardown if the test did not.
 */
export async function startService (t: Test, env: Record<string, string>, entry = 'src/boot/server.ts'): Promise<Service> {
  const { NODE_OPTIONS: _tapHooks, ...inherited } = process.env
  const proc = spawn(process.execPath, [LOADER, entry], {
    env: { ...inherited, TS_NODE_TRANSPILE_ONLY: '1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    await exited
  }
  t.teardown(() => kill())

  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      logs.push(entry)
      const listening = /^agent-state listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(String(entry.msg))
      if (listening !== null) resolve(listening[1] as string)
    })
    proc.once('exit', (code, signal) => reject(new Error(`${entry} exited (${code ?? signal}) before listening: ${stderr}`)))
  })
  return { url, proc, logs, kill }
}
