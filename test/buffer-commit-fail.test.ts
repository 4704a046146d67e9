/**
 * A buffer commit whose own statement the store refuses (issue 11): the disk fills between the appends and
 * the commit. The answer is a problem+json 503 `store_unavailable`; nothing of the cycle reaches the journal,
 * then or later; the buffer is open again with its entries, so once the store is back the client's retry
 * journals the cycle exactly once.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fillDisk, smallDisk } from './faults.js'
import { build, json, storedGroup, until } from './helper.js'

const disk = smallDisk(t, 24)

t.test('the disk fills between the appends and the commit: 503, the buffer open again, the retry journals the cycle once', { skip: 'skip' in disk ? disk.skip : false }, async (t) => {
  if (!('dir' in disk)) return
  const dataDir = join(disk.dir, 'data')
  const { app } = await build(t, { STORE_RETRY_S: '1' }, { dataDir })
  const name = 'qa-core-go-io-task-5'
  t.equal((await app.inject({ method: 'POST', url: '/v1/buffers', ...json({ name, workspace: 'core/go-io/task-5' }) })).statusCode, 201)
  // Half a megabyte of findings: the journal row cannot fit in whatever the volume still has in a partly filled page.
  const findings = Array.from({ length: 500 }, (_, i) => ({ kind: 'finding', data: { tool: 'gosec', file: `f${i}.go`, line: i, code: 'G101', text: 'x'.repeat(1000) } }))
  t.equal((await app.inject({ method: 'POST', url: `/v1/buffers/${name}/entries`, ...json(findings) })).statusCode, 201)

  const filler = fillDisk(disk.dir)
  const refused = await app.inject({ method: 'POST', url: `/v1/buffers/${name}/commit` })
  t.equal(refused.statusCode, 503, 'the commit is not acknowledged')
  t.match(refused.headers['content-type'], 'application/problem+json')
  t.match(refused.json(), { code: 'store_unavailable', status: 503 })
  t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal((await app.inject({ url: '/readyz' })).json().store, 'degraded', 'the store is degraded')
  const open = await app.inject({ url: `/v1/buffers/${name}` })
  t.equal(open.statusCode, 200, 'the buffer is still there')
  t.match(open.json(), { count: 500, aggregate: { finding: 500 } }, 'with every entry')
  t.same((await app.inject({ url: '/v1/journal?workspace=core/go-io/task-5' })).json().items, [], 'and nothing is journalled')

  rmSync(filler)
  await until('the store to be ok again', async () => (await app.inject({ url: '/readyz' })).json().store === 'ok')
  const journalled = await app.inject({ method: 'POST', url: `/v1/buffers/${name}/commit` })
  t.equal(journalled.statusCode, 200, 'the retry commits the buffer')
  t.equal((await app.inject({ url: `/v1/buffers/${name}` })).statusCode, 404, 'which is then gone')
  const rows = (await app.inject({ url: '/v1/journal?workspace=core/go-io/task-5' })).json().items
  t.equal(rows.length, 1, 'one journal row')
  t.equal(rows[0].fields.findings.length, 500, 'with every finding')
  await app.close()

  // What the store holds: the one cycle, and events that say the first attempt failed and the retry committed.
  const stored = [...(await storedGroup(dataDir, 'journal')).values()]
  t.equal(stored.length, 1, 'the store holds one journal row: the refused attempt was never stored later')
  const actions = [...(await storedGroup(dataDir, 'event')).values()]
    .map((e) => e as { type: string, data: { action: string, journal_id?: number } })
    .filter((e) => e.type === 'buffer' && e.data.action !== 'created')
    .map((e) => e.data.action)
  t.same(actions, ['commit_failed', 'committed'], 'the stored events: the failed attempt, then the commit')
})
