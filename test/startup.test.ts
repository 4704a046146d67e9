import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { processStartMs } from '../src/shared/process-start.js'
import { build, deadPid, put, report, storedGroup } from './helper.js'

function writeStatus (dataDir: string, name: string, body: unknown): string {
  const dir = join(dataDir, 'workspace', ...name.split('/'))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'status.json'), typeof body === 'string' ? body : JSON.stringify(body))
  return join(dir, 'status.json')
}

/** A controllable clock. */
function clockAt (iso: string) {
  let now = Date.parse(iso)
  return { clock: () => new Date(now), advance: (s: number) => { now += s * 1000 } }
}

t.test('a running workspace stored with the PID of an exited process is failed after a restart', async (t) => {
  const { app, dataDir } = await build(t)
  const pid = deadPid()
  await put(app, 'core/go-io/task-5', report({ pid }))
  await put(app, 'core/go-io/task-6', report({ pid: process.pid }))
  await app.close()

  const again = await build(t, {}, { dataDir })
  const ghost = (await again.app.inject({ url: '/v1/workspaces/core/go-io/task-5' })).json()
  t.equal(ghost.status, 'failed')
  t.match(ghost.reaped, { reason: 'pid_dead', evidence: `pid ${pid} is not running` })
  t.match(ghost.question, /pid_dead/)
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/go-io/task-6' })).json().status, 'running', 'a live local PID is kept')
  const recovery = (await again.app.inject({ url: '/v1/recovery' })).json()
  t.match(recovery, { store: { mode: 'ok' }, hydrated: { from_store: 2 }, reaped: [{ name: 'core/go-io/task-5', reason: 'pid_dead' }] })
  for (const step of ['store_open', 'hydrate_store', 'hydrate_files', 'reap']) t.type(recovery.timings_ms[step], 'number', `timing for ${step}`)
  t.ok(recovery.finished_at)
})

t.test('a status.json claiming running for a dead PID is failed in the API and on disk', async (t) => {
  const dataDir = t.testdir()
  const pid = deadPid()
  // The Go agent's own format: pid 0 / empty strings mean "none", extra fields are allowed.
  const file = writeStatus(dataDir, 'core/go-io/task-7', {
    status: 'running',
    agent: 'codex:gpt-5.4',
    repo: 'go-io',
    org: 'core',
    task: 'port the tests',
    branch: 'agent/port',
    issue: 7,
    pid,
    process_id: '',
    started_at: '2026-11-01T10:00:00Z',
    updated_at: '2026-11-01T10:05:00Z',
    question: '',
    runs: 1,
    extra_go_field: true
  })
  const { app } = await build(t, {}, { dataDir })
  const rec = (await app.inject({ url: '/v1/workspaces/core/go-io/task-7' })).json()
  t.match(rec, { status: 'failed', agent: 'codex:gpt-5.4', branch: 'agent/port', issue: 7, runs: 1, reaped: { reason: 'pid_dead' } })
  t.notOk('process_id' in rec, 'empty Go strings are absent fields')
  const disk = JSON.parse(readFileSync(file, 'utf8'))
  t.match(disk, { status: 'failed', reaped: { reason: 'pid_dead' } })
  t.match((await app.inject({ url: '/v1/recovery' })).json().hydrated, { files_read: 1, from_files: 1 })
})

t.test('a reused PID is detected by its start time', async (t) => {
  const { app } = await build(t)
  const realStart = new Date(processStartMs(process.pid) as number).toISOString()
  await put(app, 'core/a/reused', report({ pid: process.pid, pid_started_at: '2001-01-01T00:00:00Z' }))
  await put(app, 'core/a/same', report({ pid: process.pid, pid_started_at: realStart }))
  const res = await app.inject({ method: 'POST', url: '/v1/reap' })
  t.equal(res.statusCode, 200)
  t.match(res.json().reaped, [{ name: 'core/a/reused', reason: 'pid_reused' }])
  t.equal(res.json().reaped.length, 1)
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/same' })).json().status, 'running')
})

t.test('a remote workspace survives a restart and is reaped only after its lease', async (t) => {
  const c = clockAt('2026-11-25T10:00:00Z')
  const { app, dataDir } = await build(t, { LEASE_S: '60' }, { clock: c.clock })
  await put(app, 'core/a/remote', report({ host: 'far-away', pid: deadPid() }))
  await app.close()

  c.advance(3600) // the service was down for an hour: agents could not report meanwhile
  const again = await build(t, { LEASE_S: '60' }, { clock: c.clock, dataDir })
  t.equal((await again.app.inject({ url: '/v1/workspaces/core/a/remote' })).json().status, 'running', 'a restart restarts the lease clock; a remote PID is not checked here')
  c.advance(59)
  t.same((await again.app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped, [])
  c.advance(2)
  const reaped = (await again.app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped
  t.match(reaped, [{ name: 'core/a/remote', reason: 'lease_expired' }])
})

t.test('heartbeats keep a workspace alive; a reaped run is told so and fenced', async (t) => {
  const c = clockAt('2026-11-25T10:00:00Z')
  const { app } = await build(t, { LEASE_S: '60' }, { clock: c.clock })
  await put(app, 'core/a/hb', report({ host: 'far-away', runs: 4 }))
  c.advance(50)
  const hb = await app.inject({ method: 'POST', url: '/v1/workspaces/core/a/hb/heartbeat', payload: { runs: 4 } })
  t.equal(hb.statusCode, 200)
  t.match(hb.json(), { name: 'core/a/hb', status: 'running', runs: 4, heartbeat_at: '2026-11-25T10:00:50.000Z', lease_expires_at: '2026-11-25T10:01:50.000Z' })
  c.advance(50)
  t.same((await app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped, [], 'the heartbeat renewed the lease')
  const wrongRun = await app.inject({ method: 'POST', url: '/v1/workspaces/core/a/hb/heartbeat', payload: { runs: 3 } })
  t.equal(wrongRun.json().code, 'stale_run')
  c.advance(61)
  t.equal((await app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped.length, 1)

  const late = await app.inject({ method: 'POST', url: '/v1/workspaces/core/a/hb/heartbeat' })
  t.equal(late.statusCode, 409)
  t.equal(late.json().code, 'not_running')
  t.match(late.json().detail, /reaped/)
  const latePut = await put(app, 'core/a/hb', report({ host: 'far-away', runs: 4, status: 'completed' }))
  t.equal(latePut.statusCode, 409, 'a late report from the reaped run cannot overwrite the verdict')
  t.equal(latePut.json().code, 'stale_run')
  t.equal((await app.inject({ url: '/v1/workspaces/core/a/hb' })).json().status, 'failed')
  const resume = await put(app, 'core/a/hb', report({ host: 'far-away', runs: 5 }))
  t.equal(resume.statusCode, 200, 'a higher runs resumes')
  t.notOk('reaped' in resume.json(), 'a new run starts clean')

  t.equal((await app.inject({ method: 'POST', url: '/v1/workspaces/core/a/nope/heartbeat' })).statusCode, 404)
})

t.test('REAPER_PID_CHECK=off leaves dead local PIDs to the lease', async (t) => {
  const { app } = await build(t, { REAPER_PID_CHECK: 'off' })
  await put(app, 'core/a/b', report({ pid: deadPid() }))
  t.same((await app.inject({ method: 'POST', url: '/v1/reap' })).json().reaped, [])
})

t.test('a file written after the stored change wins over the store, a file from an earlier run never; bad files are counted, never fatal', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/a/newer-file', report({ status: 'completed', runs: 2 }))
  await put(app, 'core/a/older-file', report({ status: 'completed', runs: 3 }))
  await app.close()
  writeStatus(dataDir, 'core/a/newer-file', { status: 'merged', agent: 'codex', runs: 2, pr_url: 'https://forge/pr/1', updated_at: new Date().toISOString() })
  writeStatus(dataDir, 'core/a/older-file', { status: 'failed', agent: 'codex', runs: 2 })
  writeStatus(dataDir, 'core/a/queued-file', { status: 'queued', agent: 'claude:opus', runs: 0, updated_at: '2026-11-20T08:00:00Z' })
  writeStatus(dataDir, 'core/a/broken', '{"status": "running", ')
  writeStatus(dataDir, 'core/a/wrong', { status: 'sleeping', agent: 'codex' })
  mkdirSync(join(dataDir, 'workspace', 'core', 'a', 'no-file'), { recursive: true })

  const again = await build(t, {}, { dataDir })
  const get = async (n: string) => (await again.app.inject({ url: `/v1/workspaces/core/a/${n}` })).json()
  t.match(await get('newer-file'), { status: 'merged', pr_url: 'https://forge/pr/1' })
  t.match(await get('older-file'), { status: 'completed', runs: 3 })
  t.match(await get('queued-file'), { status: 'queued', queued_at: '2026-11-20T08:00:00.000Z', pool: 'claude' })
  const recovery = (await again.app.inject({ url: '/v1/recovery' })).json()
  t.match(recovery.hydrated, { from_store: 2, files_read: 3, from_files: 2 })
  t.same(recovery.hydrated.files_invalid.map((f: { path: string }) => f.path).sort(), ['workspace/core/a/broken/status.json', 'workspace/core/a/wrong/status.json'])
  await again.app.close()
  t.ok((await storedGroup(dataDir, 'queue')).has('core/a/queued-file'), 'a queued workspace from a file is back in the queue')
})

t.test('a missing workspace folder is a clean start', async (t) => {
  const { app } = await build(t)
  const recovery = (await app.inject({ url: '/v1/recovery' })).json()
  t.match(recovery, { store: { mode: 'ok' }, hydrated: { from_store: 0, files_read: 0, files_invalid: [] }, reaped: [] })
})
