/** Online backups: taken under concurrent writes, opened on their own, listed, bounded, removed. */
import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { duckRows } from './duck.js'
import { build, json, listFiles, put, report } from './helper.js'

/** Opens a backup file with an instance of its own: no service, no WAL, just the file. */
const openBackup = async (file: string, sql: string) => (await duckRows(file, sql, { readOnly: true })).map((r) => Object.values(r))

t.test('a backup taken under concurrent writes opens on its own and holds every write acknowledged before it began', async (t) => {
  const { app, dataDir } = await build(t)
  const acked: Array<{ name: string, at: number }> = []
  const load = { stop: false }
  let next = 0
  // Four writers: each ends a run (two reports), so the backup must hold registry rows and history rows alike.
  const writers = [0, 1, 2, 3].map(async () => {
    while (!load.stop) {
      const name = `core/load/w${next++}`
      await put(app, name, report())
      const res = await put(app, name, report({ status: 'completed' }))
      if (res.statusCode === 200) acked.push({ name, at: performance.now() })
    }
  })
  while (acked.length < 20) await new Promise((resolve) => setTimeout(resolve, 10))
  const began = performance.now()
  const res = await app.inject({ method: 'POST', url: '/v1/backups', ...json({ name: 'under-load' }) })
  const after = acked.length
  while (acked.length < after + 10) await new Promise((resolve) => setTimeout(resolve, 10))
  load.stop = true
  await Promise.all(writers)
  t.equal(res.statusCode, 201, res.body)
  const { backup, pruned } = res.json()
  t.same(pruned, [])
  t.match(backup, { name: 'under-load', schema_version: 4 })
  t.ok(backup.write_stall_ms >= 0 && backup.duration_ms >= backup.write_stall_ms)

  const before = acked.filter((a) => a.at < began).map((a) => a.name)
  t.ok(before.length >= 20)
  const file = join(dataDir, 'backups', 'under-load', 'db.duckdb')
  const registry = new Set((await openBackup(file, "SELECT key FROM entries WHERE grp = 'registry' AND value IS NOT NULL")).map((r) => String(r[0])))
  const history = new Set((await openBackup(file, "SELECT workspace FROM run_history WHERE outcome = 'completed'")).map((r) => String(r[0])))
  t.same(before.filter((n) => !registry.has(n)), [], 'every acknowledged workspace is in the copy')
  t.same(before.filter((n) => !history.has(n)), [], 'and every acknowledged run end')
  t.ok(acked.some((a) => !registry.has(a.name)), 'writes went on during and after the backup')
  t.equal(backup.history_rows, history.size, 'the manifest counts what the copy holds')
})

t.test('list, the BACKUP_KEEP bound, delete, and names as hostile input', async (t) => {
  let now = Date.parse('2026-11-30T10:00:00.000Z')
  const { app, dataDir } = await build(t, { BACKUP_KEEP: '2', AUTH_TOKENS: 'reader-token-0001:read,admin-token-00001:admin' }, { clock: () => new Date(now) })
  const admin = { authorization: 'Bearer admin-token-00001' }
  const post = (body?: unknown) => app.inject({ method: 'POST', url: '/v1/backups', headers: { ...admin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, payload: body === undefined ? undefined : JSON.stringify(body) })
  await put(app, 'core/x/a', report(), admin)

  t.equal((await post()).json().backup.name, 'backup-20261130T100000000Z', 'a default name from the time')
  now += 1000
  t.equal((await post({ name: 'before-upgrade' })).statusCode, 201)
  t.equal((await post({ name: 'before-upgrade' })).json().code, 'exists')
  now += 1000
  const third = (await post({ name: 'third' })).json()
  t.same(third.pruned, ['backup-20261130T100000000Z'], 'beyond BACKUP_KEEP the oldest goes')
  const list = await app.inject({ url: '/v1/backups', headers: admin })
  t.same(list.json().items.map((b: { name: string }) => b.name), ['third', 'before-upgrade'])

  for (const name of ['..', '.hidden', 'a/b', 'x'.repeat(101), '', 'ü']) {
    const res = await post({ name })
    t.equal(res.statusCode, 400, JSON.stringify(name))
  }
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/backups/..%2F..%2F.core', headers: admin })).statusCode, 400)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/backups/nope', headers: admin })).json().code, 'not_found')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/backups/third', headers: { authorization: 'Bearer reader-token-0001' } })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/backups', headers: { authorization: 'Bearer reader-token-0001' } })).statusCode, 403)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/backups/third', headers: admin })).statusCode, 204)
  t.same(listFiles(join(dataDir, 'backups')), ['before-upgrade', 'before-upgrade/db.duckdb', 'before-upgrade/manifest.json'])
  // A folder without a manifest is not a backup: not listed, not deletable.
  mkdirSync(join(dataDir, 'backups', 'stray'))
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/backups/stray', headers: admin })).statusCode, 404)
  t.equal((await app.inject({ url: '/v1/backups', headers: admin })).json().items.length, 1)
})

t.test('a backups folder that is a symlink is never written through', async (t) => {
  const { app, dataDir } = await build(t)
  const outside = join(dataDir, 'elsewhere')
  mkdirSync(outside)
  symlinkSync(outside, join(dataDir, 'backups'))
  const res = await app.inject({ method: 'POST', url: '/v1/backups' })
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'backups_folder_invalid')
  t.same(listFiles(outside), [])
})
