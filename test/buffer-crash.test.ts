import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startService, type Service } from './child.js'
import { storedGroup } from './helper.js'

const stateDir = (dataDir: string) => join(dataDir, '.core', 'state')

async function call (svc: Service, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(svc.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text) }
}

t.test('SIGKILL mid-cycle: after the restart the file is gone, nothing was journalled, the report names it', async (t) => {
  const dataDir = t.testdir()
  const first = await startService(t, { DATA_DIR: dataDir })
  t.equal((await call(first, 'POST', '/v1/buffers', { name: 'qa-crashed-cycle', workspace: 'core/go-io/task-5' })).status, 201)
  t.equal((await call(first, 'POST', '/v1/buffers/qa-crashed-cycle/entries', { kind: 'finding', data: { tool: 'gosec' } })).status, 201)
  await first.kill('SIGKILL')
  t.ok(existsSync(join(stateDir(dataDir), 'qa-crashed-cycle.duckdb')), 'the crash left the buffer file behind')

  const second = await startService(t, { DATA_DIR: dataDir })
  t.same(readdirSync(stateDir(dataDir)), [], 'the file and its WAL are gone')
  t.same((await call(second, 'GET', '/v1/journal')).body.items, [], 'nothing was journalled')
  t.equal((await call(second, 'GET', '/v1/buffers/qa-crashed-cycle')).status, 404)
  const report = (await call(second, 'GET', '/v1/recovery')).body
  t.same(report.orphans, { skipped: null, outcomes: [{ file: 'qa-crashed-cycle.duckdb', outcome: 'discarded', detail: 'partial cycle of 1 entry (finding 1)' }] })
  t.match(second.logs.find((l) => l.file === 'qa-crashed-cycle.duckdb'), { msg: 'reaped orphan QA buffer: discarded, never committed', outcome: 'discarded' }, 'and the log says so')
  await second.kill('SIGTERM')
})

t.test('a crash after the commit but before the file is removed: the marker makes the next start-up delete it', async (t) => {
  const dataDir = t.testdir()
  const dying = await startService(t, { DATA_DIR: dataDir }, 'test/fixtures/crash-after-journal.ts')
  await call(dying, 'POST', '/v1/buffers', { name: 'qa-committed', workspace: 'core/go-io/task-6' })
  await call(dying, 'POST', '/v1/buffers/qa-committed/entries', [{ kind: 'finding', data: { tool: 'gosec', file: 'a.go', line: 1, code: 'G101' } }, { kind: 'test', data: { passed: true } }])
  await t.rejects(call(dying, 'POST', '/v1/buffers/qa-committed/commit'), 'the service dies inside the commit')
  await dying.kill()
  t.equal(dying.proc.signalCode, 'SIGKILL')
  t.ok(existsSync(join(stateDir(dataDir), 'qa-committed.duckdb')), 'the journalled buffer\'s file is still there')

  const next = await startService(t, { DATA_DIR: dataDir })
  t.same((await call(next, 'GET', '/v1/recovery')).body.orphans.outcomes, [
    { file: 'qa-committed.duckdb', outcome: 'deleted_committed', detail: 'its cycle was committed before the crash' }
  ])
  t.same(readdirSync(stateDir(dataDir)), [])
  const journal = (await call(next, 'GET', '/v1/journal?workspace=core/go-io/task-6')).body
  t.equal(journal.items.length, 1, 'the cycle is journalled exactly once')
  t.match(journal.items[0], { measurement: 'qa-committed', fields: { aggregate: { finding: 1, test: 1 }, findings: [{ tool: 'gosec', code: 'G101' }] } })
  await next.kill('SIGTERM')
  t.equal(next.proc.exitCode, 0, 'SIGTERM exits 0')
  t.equal((await storedGroup(dataDir, 'workspace:qa-committed')).size, 0, 'the marker went with the file')
})
