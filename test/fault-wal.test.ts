/**
 * Fault suite, a damaged WAL (issue 21, case 11): DuckDB skips a WAL whose header it does not recognise
 * without a word, so a store with 200 acknowledged workspaces in its WAL opened `ok` and empty. Now
 * start-up says so, in the log and in /v1/recovery, and keeps the WAL as it found it. A real service
 * process, killed with -9 so the commits are only in the WAL.
 */
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startService } from './child.js'
import { call } from './faults.js'
import { printedSizeCeiling } from '../src/store/core/wal-check.js'

const WORKSPACES = 200

/**
 * A store whose last WORKSPACES commits are only in its WAL: checkpointed once by a clean stop (as any
 * store that ever restarted), then killed before the next checkpoint.
 */
async function walOnlyStore (t: Test, dataDir: string): Promise<string> {
  const first = await startService(t, { DATA_DIR: dataDir })
  await first.kill('SIGTERM')
  const svc = await startService(t, { DATA_DIR: dataDir })
  for (let i = 0; i < WORKSPACES; i++) {
    t.equal((await call(svc.url, 'PUT', `/v1/workspaces/core/wal/w-${i}`, { status: 'running', agent: 'codex:m', runs: 1 })).status, 201)
  }
  await svc.kill('SIGKILL')
  const wal = join(dataDir, '.core', 'db.duckdb.wal')
  t.ok(statSync(wal).size > 0, 'the commits are in the WAL')
  return wal
}

interface Report { warnings: string[] }

t.test('the size DuckDB prints is read as the most it can stand for', async (t) => {
  t.equal(printedSizeCeiling('0 bytes'), 0)
  t.equal(printedSizeCeiling('812 bytes'), 812)
  t.equal(printedSizeCeiling('42.5 KiB'), Math.ceil(42.6 * 1024), '43,608 bytes print as 42.5 KiB: rounded down')
  t.equal(printedSizeCeiling('19.0 MiB'), Math.ceil(19.1 * 2 ** 20))
  t.equal(printedSizeCeiling('1.5 GB'), Math.ceil(1.6 * 1e9))
  t.equal(printedSizeCeiling('a lot'), undefined, 'anything else: no check rather than a false alarm')
})

t.test('an intact WAL is replayed whole and start-up has nothing to say', async (t) => {
  const intact = t.testdir()
  await walOnlyStore(t, intact)
  const clean = await startService(t, { DATA_DIR: intact })
  t.same(((await call(clean.url, 'GET', '/v1/recovery')).body as Report).warnings, [], 'an intact WAL: nothing to say')
  t.equal(((await call(clean.url, 'GET', '/v1/status')).body as { total: number }).total, WORKSPACES, 'and every workspace is back')
  await clean.kill('SIGTERM')
})

t.test('a WAL with a garbled header: start-up warns that commits may be missing', async (t) => {
  const dataDir = t.testdir()
  const wal = await walOnlyStore(t, dataDir)
  // The first bytes of its header overwritten, as a bad sector or a stray write would: DuckDB then skips the
  // whole WAL as not its own (most other bytes make it fail with a checksum error, which degrades the store).
  const fd = openSync(wal, 'r+')
  writeSync(fd, Buffer.from('zzzz'), 0, 4, 0)
  closeSync(fd)
  const found = readFileSync(wal)

  const svc = await startService(t, { DATA_DIR: dataDir })
  const { warnings } = (await call(svc.url, 'GET', '/v1/recovery')).body as Report
  t.equal(warnings.length, 1)
  t.match(warnings[0], new RegExp(`^DuckDB did not replay the whole WAL when it opened the store: it held ${found.length} bytes and at most \\d+ were replayed, so commits after the last checkpoint may be missing`))
  t.ok(svc.logs.some((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith('DuckDB did not replay the whole WAL')), 'logged as an error')
  const kept = readdirSync(join(dataDir, '.core')).filter((f) => f.startsWith('db.duckdb.wal.dropped-'))
  t.equal(kept.length, 1, 'the WAL as found is kept')
  t.same(readFileSync(join(dataDir, '.core', kept[0] as string)), found, 'byte for byte')
  t.match(warnings[0], kept[0] as string, 'and the warning says where')
  t.equal((await call(svc.url, 'PUT', '/v1/workspaces/core/wal/after', { status: 'running', agent: 'codex:m', runs: 1 })).status, 201, 'the service goes on')
  await svc.kill('SIGTERM')
})
