/**
 * No single change can fail a batch forever (issue 21, case 1b). The writer over a real DuckDB file: when
 * the store refuses a batch for a value it cannot hold, the change that carries it is refused alone (its
 * caller gets `write_refused`, the `refused` event names it) and the rest of the batch is stored; a store
 * that cannot write at all is still a store failure that holds every change.
 */
import t from 'tap'
import { Database } from '../src/store/core/database.js'
import { migrate } from '../src/store/core/migrations.js'
import { storeFile } from '../src/store/core/paths.js'
import { Writer, type RefusedChange } from '../src/store/core/writer.js'
import { RUN_HISTORY } from '../src/store/history/table.js'

const AT = '2026-11-01T10:00:00.000Z'

async function open (dataDir: string): Promise<Database> {
  const db = await Database.open(storeFile(dataDir), { threads: 1, memoryLimit: '256MB' })
  await migrate(db)
  return db
}

const value = async (db: Database, grp: string, key: string): Promise<unknown> =>
  (await db.rows('SELECT value FROM entries WHERE grp = $1 AND key = $2', [grp, key]))[0]?.[0] ?? null

/** A run history row as an earlier version staged it from a file with `runs: 3000000000`. */
const oversized = { workspace: 'o/r/w', org: 'o', repo: 'r', pool: 'codex', agent: 'codex:m', model: 'm', runs: 3000000000, host: 'x', started_at: AT, ended_at: AT, duration_s: 0, outcome: 'reaped', reap_reason: 'lease_expired' }

t.test('a change the store refuses fails alone: the rest of its batch is stored and the writer stays ok', async (t) => {
  const db = await open(t.testdir())
  const writer = new Writer(db)
  t.teardown(async () => { await writer.drain(); await db.close() })
  const refused: RefusedChange[] = []
  writer.on('refused', (r: RefusedChange) => refused.push(r))

  // Five changes in one batch (staged in one turn of the event loop); the third carries a row its table
  // cannot hold, the fourth a time no TIMESTAMPTZ holds.
  writer.stage('registry', 'o/r/a', '"first"', AT)
  const a = writer.commit('change a')
  writer.stage('registry', 'o/r/a', '"second"', AT)
  writer.stage('registry', 'o/r/w', '"reaped"', AT)
  writer.stageAppend(RUN_HISTORY, oversized)
  const poisoned = writer.commit('reaper: workspace o/r/w')
  writer.stage('registry', 'o/r/b', '"b"', AT)
  const b = writer.commit('change b')
  writer.stage('registry', 'o/r/t', '"t"', '+010000-01-01T04:00:00.000Z')
  const badTime = writer.commit('change t')
  writer.stage('registry', 'o/r/c', '"c"', AT)
  const c = writer.commit('change c')

  t.same(await a, { mode: 'ok' })
  await t.rejects(poisoned, { code: 'write_refused', status: 500 }, 'the change with the oversized row is refused')
  t.same(await b, { mode: 'ok' })
  await t.rejects(badTime, { code: 'write_refused' }, 'so is the one with a time out of range')
  t.same(await c, { mode: 'ok' })
  t.equal(writer.mode, 'ok', 'the store is not degraded')
  t.equal(writer.pendingCount, 0, 'nothing is held to retry')

  t.same(refused.map((r) => [r.source, r.entries, r.tables]), [
    ['reaper: workspace o/r/w', ['registry/o/r/a', 'registry/o/r/w'], [RUN_HISTORY]],
    ['change t', ['registry/o/r/t'], []]
  ], 'each refusal names its change, its entries and its tables')
  t.match(refused[0]?.error.message, /Conversion Error/)

  t.equal(await value(db, 'registry', 'o/r/a'), '"first"', 'a key the refused change had staged again keeps the stored change\'s value')
  t.equal(await value(db, 'registry', 'o/r/w'), null)
  t.equal(await value(db, 'registry', 'o/r/b'), '"b"')
  t.equal(await value(db, 'registry', 'o/r/c'), '"c"')
  t.equal(await value(db, 'registry', 'o/r/t'), null)
  t.same(await db.rows(`SELECT count(*)::INTEGER FROM ${RUN_HISTORY}`), [[0]])

  writer.stage('registry', 'o/r/d', '"d"', AT)
  t.same(await writer.commit(), { mode: 'ok' }, 'later writes are stored as usual')
  t.equal(await value(db, 'registry', 'o/r/d'), '"d"')
})

t.test('a store that cannot write is not a refused change: every change is held, and stored once it is back', async (t) => {
  const dataDir = t.testdir()
  const first = await open(dataDir)
  const writer = new Writer(first)
  const refused: RefusedChange[] = []
  writer.on('refused', (r: RefusedChange) => refused.push(r))
  // The instance goes away under the writer, as DuckDB's does after a failed write on a full disk.
  await first.close()
  writer.stage('registry', 'o/r/a', '"a"', AT)
  const a = writer.commit('change a')
  writer.stage('registry', 'o/r/b', '"b"', AT)
  const b = writer.commit('change b')
  await t.rejects(a, { code: 'store_unavailable' })
  await t.rejects(b, { code: 'store_unavailable' })
  t.equal(writer.mode, 'degraded')
  t.equal(writer.pendingCount, 2, 'both changes are held')
  t.same(refused, [], 'nothing was refused')

  const second = await open(dataDir)
  t.teardown(async () => { await writer.drain(); await second.close() })
  writer.attach(second)
  t.same(await writer.commit(), { mode: 'ok' }, 'the held changes go out with the next commit')
  t.equal(await value(second, 'registry', 'o/r/a'), '"a"')
  t.equal(await value(second, 'registry', 'o/r/b'), '"b"')
})
