/**
 * Fault suite, hostile files on the volume (issue 11, case 7): a real service process starts on a data
 * folder whose status.json files and agents.yaml are a FIFO, links out of the folder (to a file and to a
 * device), a huge sparse file and a leap-second time. Start-up never blocks, reads none of them, reports
 * each, and loads the good files.
 */
import { execFileSync } from 'node:child_process'
import { lstatSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startService } from './child.js'
import { call } from './faults.js'

t.test('FIFOs, links out, devices and sparse giants are refused without blocking start-up', async (t) => {
  const dataDir = t.testdir()
  const status = (leaf: string): string => {
    const dir = join(dataDir, 'workspace', 'core', 'a', leaf)
    mkdirSync(dir, { recursive: true })
    return join(dir, 'status.json')
  }
  execFileSync('mkfifo', [status('fifo')])
  symlinkSync('/etc/hostname', status('link-out'))
  symlinkSync('/dev/zero', status('device'))
  writeFileSync(status('sparse'), '')
  truncateSync(status('sparse'), 64 * 1024 * 1024 * 1024)
  writeFileSync(status('good'), JSON.stringify({ status: 'blocked', agent: 'codex', runs: 1, question: 'ok?' }))
  writeFileSync(status('leap'), JSON.stringify({ status: 'completed', agent: 'codex', runs: 1, updated_at: '2016-12-31T23:59:60Z' }))
  execFileSync('mkfifo', [join(dataDir, 'agents.yaml')])
  // A workspace folder that is itself a link out of the volume is never entered.
  mkdirSync(join(dataDir, 'elsewhere', 'leaf'), { recursive: true })
  writeFileSync(join(dataDir, 'elsewhere', 'leaf', 'status.json'), JSON.stringify({ status: 'running', agent: 'codex', runs: 1 }))
  symlinkSync(join(dataDir, 'elsewhere'), join(dataDir, 'workspace', 'core', 'linked'))

  const started = Date.now()
  const svc = await startService(t, { DATA_DIR: dataDir, REAPER_PID_CHECK: 'off' })
  t.ok(Date.now() - started < 60_000, 'start-up did not hang')
  const recovery = (await call(svc.url, 'GET', '/v1/recovery')).body as { hydrated: { files_read: number, files_invalid: Array<{ path: string, error: string }> } }
  const invalid = Object.fromEntries(recovery.hydrated.files_invalid.map((f) => [f.path.split('/')[3], f.error]))
  t.match(invalid, {
    fifo: /not a regular file/,
    'link-out': /link out of the data folder/,
    device: /link out of the data folder/,
    sparse: /larger than/
  })
  t.equal(recovery.hydrated.files_read, 2, 'the good file and the leap second are read')
  t.equal(((await call(svc.url, 'GET', '/v1/workspaces/core/a/good')).body as { status: string }).status, 'blocked')
  t.equal(((await call(svc.url, 'GET', '/v1/workspaces/core/a/leap')).body as { updated_at: string }).updated_at, '2016-12-31T23:59:59.999Z')
  t.equal((await call(svc.url, 'GET', '/v1/workspaces/core/linked/leaf')).status, 404, 'nothing is read through a linked folder')
  t.match((await call(svc.url, 'GET', '/readyz')).body, { store: 'ok', config_error: /agents.yaml is unusable: not a regular file/ })
  // An operator's PUT must not hang on the FIFO nor replace it: a clear 409 and nothing changed (issue 21, case 11).
  const before = (await call(svc.url, 'GET', '/v1/config')).body
  const put = await call(svc.url, 'PUT', '/v1/config', { concurrency: { codex: 2 } })
  t.equal(put.status, 409)
  t.match(put.body, { code: 'config_file_unusable', detail: /agents.yaml is unusable \(not a regular file\)/ })
  t.same((await call(svc.url, 'GET', '/v1/config')).body, before, 'the configuration in force did not change')
  t.ok(lstatSync(join(dataDir, 'agents.yaml')).isFIFO(), 'the FIFO is left as it was')
  svc.proc.kill('SIGTERM')
  t.equal(await svc.exited, 0)
})
