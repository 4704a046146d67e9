/** `npm start` as a user or a supervisor runs it: no compile on start, SIGTERM stops the service, a busy port is one line. */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { packageInfo } from '../src/shared/package-info.js'
import { spawnService, startOutcome } from './child.js'

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true } catch { return false }
}

t.test('npm start serves the build without compiling, and a SIGTERM to npm stops the service cleanly', async (t) => {
  const dataDir = t.testdir()
  const npm = spawn('npm', ['start'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<number | string>((resolve) => npm.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  let servicePid = 0
  t.teardown(() => { if (servicePid !== 0 && alive(servicePid)) process.kill(servicePid, 'SIGKILL') })
  const lines: string[] = []
  let stderr = ''
  npm.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: npm.stdout }).on('line', (line) => {
      lines.push(line)
      const m = /agent-state listening on (http:\/\/[0-9.]+:\d+)/.exec(line)
      if (m !== null) {
        servicePid = (JSON.parse(line) as { pid: number }).pid
        resolve(m[1] as string)
      }
    })
    void exited.then((code) => reject(new Error(`npm start exited (${code}): ${stderr}`)))
  })
  // npm announces every script it runs (`> agent-state@x start`): the prestart check runs, and a build would show up
  // here as `build` scripts, with the check's reason on stderr.
  const v = packageInfo.version
  t.same(lines.filter((l) => l.startsWith('> ')), [
    `> agent-state@${v} prestart`, '> node scripts/build-if-stale.mjs', `> agent-state@${v} start`, '> exec node dist/boot/server.js'
  ], 'nothing is compiled at start')
  t.notMatch(stderr, /npm run build/, 'the build was found fresh')
  t.equal((await fetch(`${url}/healthz`)).status, 200)
  t.not(servicePid, npm.pid, 'npm runs the service as its child')

  npm.kill('SIGTERM')
  t.equal(await exited, 0, 'npm start exits 0')
  const deadline = Date.now() + 10000
  while (alive(servicePid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.notOk(alive(servicePid), 'the service process is gone, not orphaned')
  const last = JSON.parse(lines.at(-1) as string) as { msg: string }
  t.match(last.msg, /^closed:/, 'the last log line says the shutdown finished')
  t.equal(stderr, '')
})

t.test('a busy port is one clear line, found before the store is touched', async (t) => {
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())))
  const { port } = holder.address() as AddressInfo
  const dataDir = t.testdir()
  const service = spawnService(t, { DATA_DIR: dataDir, PORT: String(port) })
  await t.rejects(service.listening)
  t.equal(await service.exited, 1)
  t.equal(service.stderr, `agent-state: port ${port} on 127.0.0.1 is already in use by another process: stop that process or set PORT\n`)
  t.same(service.lines, [], 'nothing logged: start-up never began')
  t.notOk(existsSync(join(dataDir, '.core')), 'the store was never opened')
})

t.test('a file where the service keeps its store or its buffers is one clear line, not a stack trace', async (t) => {
  for (const folder of ['.core', join('.core', 'state')]) {
    const dataDir = t.testdir()
    mkdirSync(join(dataDir, folder, '..'), { recursive: true })
    writeFileSync(join(dataDir, folder), 'not a folder')
    const service = spawnService(t, { DATA_DIR: dataDir })
    t.equal(await startOutcome(service), 1, `${folder} as a file: exit 1`)
    await service.kill()
    t.equal(service.stderr, `agent-state: ${join(dataDir, folder)} is not a folder (the service keeps its ${folder === '.core' ? 'store' : 'QA buffers'} there): move it away\n`)
  }
})
