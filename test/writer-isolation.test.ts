/**
 * No single change can fail a batch forever (issue 21, case 1b). The writer over a real DuckDB file: when
 * the store refuses a batch for a value it cannot hold, the change that carries it is refused alone (its
 * caller gets `write_refused`, the `refused` event names it) and the rest of the batch is stored; a store
 * that cannot write at all is still a store failure that holds every change. With the change log
 * (issue 23) the check happens before a change is logged (StoreChecks); should DuckDB still refuse a
 * logged change, the fold leaves that one out alone.
 */
import t from 'tap'
import { Database } from '../src/store/core/database.js'
import { migrate } from '../src/store/core/migrations.js'
import { storeFile } from '../src/store/core/paths.js'
import type { StoreChecks } from '../src/store/core/storable.js'
import { Writer, type RefusedChange } from '../src/store/core/writer.js'
import { RUN_HISTORY, runHistoryCheck } from '../src/store/history/table.js'
import { ChangeLog } from '../src/store/log/change-log.js'
import { encodeChanges, type LoggedChange } from '../src/store/log/codec.js'
import { logDir } from '../src/store/log/segments.js'
import { build } from './helper.js'

const AT = '2026-11-01T10:00:00.000Z'

async function open (dataDir: string): Promise<Database> {
  const db = await Database.open(storeFile(dataDir), { threads: 1, memoryLimit: '256MB' })
  await migrate(db)
  return db
}

const CHECKS: StoreChecks = new Map([[RUN_HISTORY, runHistoryCheck]])

/** A writer over a fresh log in `dataDir`, storing into `db`. */
async function writerOn (dataDir: string, db: Database, checks = CHECKS): Promise<Writer> {
  const writer = new Writer({ dir: logDir(dataDir), segmentBytes: 1 << 20, checks })
  await writer.openLog([], 0, 0)
  writer.attach(db)
  return writer
}

const value = async (db: Database, grp: string, key: string): Promise<unknown> =>
  (await db.rows('SELECT value FROM entries WHERE grp = $1 AND key = $2', [grp, key]))[0]?.[0] ?? null

/** A run history row as an earlier version staged it from a file with `runs: 3000000000`. */
const oversized = { workspace: 'o/r/w', org: 'o', repo: 'r', pool: 'codex', agent: 'codex:m', model: 'm', runs: 3000000000, host: 'x', started_at: AT, ended_at: AT, duration_s: 0, outcome: 'reaped', reap_reason: 'lease_expired' }

t.test('a change the store refuses fails alone: the rest of its batch is stored and the writer stays ok', async (t) => {
  const dataDir = t.testdir()
  const db = await open(dataDir)
  const writer = await writerOn(dataDir, db)
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
  // Refused before the log, they may settle before the changes staged ahead of them: each is awaited from the start.
  const poisoned = t.rejects(writer.commit('reaper: workspace o/r/w'), { code: 'write_refused', status: 500 }, 'the change with the oversized row is refused')
  writer.stage('registry', 'o/r/b', '"b"', AT)
  const b = writer.commit('change b')
  writer.stage('registry', 'o/r/t', '"t"', '+010000-01-01T04:00:00.000Z')
  const badTime = t.rejects(writer.commit('change t'), { code: 'write_refused' }, 'so is the one with a time out of range')
  writer.stage('registry', 'o/r/c', '"c"', AT)
  const c = writer.commit('change c')

  t.same(await a, { mode: 'ok' })
  await poisoned
  t.same(await b, { mode: 'ok' })
  await badTime
  t.same(await c, { mode: 'ok' })
  t.equal(writer.mode, 'ok', 'the store is not degraded')
  t.equal(writer.pendingCount, 0, 'nothing is held to retry')

  t.same(refused.map((r) => [r.source, r.entries, r.tables]), [
    ['reaper: workspace o/r/w', ['registry/o/r/a', 'registry/o/r/w'], [RUN_HISTORY]],
    ['change t', ['registry/o/r/t'], []]
  ], 'each refusal names its change, its entries and its tables')
  t.match(refused[0]?.error.message, /runs/)
  t.same(refused.map((r) => r.commit), [null, null], 'refused before the log: no commit carries them')

  await writer.folded()

  t.equal(await value(db, 'registry', 'o/r/a'), '"first"', 'a key the refused change had staged again keeps the stored change\'s value')
  t.equal(await value(db, 'registry', 'o/r/w'), null)
  t.equal(await value(db, 'registry', 'o/r/b'), '"b"')
  t.equal(await value(db, 'registry', 'o/r/c'), '"c"')
  t.equal(await value(db, 'registry', 'o/r/t'), null)
  t.same(await db.rows(`SELECT count(*)::INTEGER FROM ${RUN_HISTORY}`), [[0]])

  writer.stage('registry', 'o/r/d', '"d"', AT)
  t.same(await writer.commit(), { mode: 'ok' }, 'later writes are stored as usual')
  await writer.folded()
  t.equal(await value(db, 'registry', 'o/r/d'), '"d"')
})

t.test('a value only DuckDB refuses is left out of the fold alone, after the log acknowledged it', async (t) => {
  const dataDir = t.testdir()
  const db = await open(dataDir)
  // A check that lets every row through, as a gap in validation would.
  const writer = await writerOn(dataDir, db, new Map([[RUN_HISTORY, { row: () => null, replaced: () => null }]]))
  t.teardown(async () => { await writer.drain(); await db.close() })
  const refused: RefusedChange[] = []
  writer.on('refused', (r: RefusedChange) => refused.push(r))
  writer.stage('registry', 'o/r/a', '"a"', AT)
  const a = writer.commit('change a')
  writer.stage('registry', 'o/r/w', '"reaped"', AT)
  writer.stageAppend(RUN_HISTORY, oversized)
  const poisoned = writer.commit('reaper: workspace o/r/w')
  writer.stage('registry', 'o/r/b', '"b"', AT)
  const b = writer.commit('change b')
  t.same(await Promise.all([a, poisoned, b]), [{ mode: 'ok' }, { mode: 'ok' }, { mode: 'ok' }], 'all three logged: the log holds them')
  await writer.folded()
  t.equal(writer.mode, 'ok', 'the fold went on without the refused change')
  t.same(refused.map((r) => [r.source, r.entries, r.tables, r.commit]), [['reaper: workspace o/r/w', ['registry/o/r/w'], [RUN_HISTORY], 1]], 'the fold names the one change it left out, and its commit')
  t.match(refused[0]?.error.message, /Conversion Error/)
  t.equal(await value(db, 'registry', 'o/r/a'), '"a"')
  t.equal(await value(db, 'registry', 'o/r/w'), null, 'nothing of the refused change is stored')
  t.equal(await value(db, 'registry', 'o/r/b'), '"b"')
  t.same(await db.rows(`SELECT count(*)::INTEGER FROM ${RUN_HISTORY}`), [[0]])
})

t.test('a store that cannot fold is not a refused change: the writer degrades, holds new changes, and stores all once it is back', async (t) => {
  const dataDir = t.testdir()
  const first = await open(dataDir)
  const writer = await writerOn(dataDir, first)
  const refused: RefusedChange[] = []
  writer.on('refused', (r: RefusedChange) => refused.push(r))
  // The instance goes away under the writer, as DuckDB's does after a failed write on a full disk.
  await first.close()
  writer.stage('registry', 'o/r/a', '"a"', AT)
  t.same(await writer.commit('change a'), { mode: 'ok' }, 'the log acknowledges it: DuckDB is not on the commit path')
  await t.rejects(writer.folded(), { code: 'store_unavailable' }, 'the fold cannot store it')
  t.equal(writer.mode, 'degraded')
  writer.stage('registry', 'o/r/b', '"b"', AT)
  await t.rejects(writer.commit('change b'), { code: 'store_unavailable' }, 'a degraded writer acknowledges nothing more')
  t.equal(writer.pendingCount, 1, 'the new change is held')
  t.same(refused, [], 'nothing was refused')

  const second = await open(dataDir)
  t.teardown(async () => { await writer.drain(); await second.close() })
  writer.attach(second)
  t.same(await writer.commit(), { mode: 'ok' }, 'the held change goes out with the next commit')
  await writer.folded()
  t.equal(await value(second, 'registry', 'o/r/a'), '"a"', 'the logged change folds into the store that came back')
  t.equal(await value(second, 'registry', 'o/r/b'), '"b"', 'the held change is logged and folded')
})

t.test('a logged change the store refuses at start-up is left out of the replay alone and named in /v1/recovery', async (t) => {
  const dataDir = t.testdir()
  // A log an earlier process left, with no store yet: three commits, the second carrying a row no INTEGER holds.
  const log = new ChangeLog(logDir(dataDir), 1 << 20)
  log.start([], 0)
  const change = (source: string, key: string, appends: LoggedChange['appends'] = []): LoggedChange[] =>
    [{ source, entries: [{ grp: 'sync_keys', key, value: '"k"', updatedAt: AT }], appends }]
  await log.append(1, encodeChanges(change('change a', 'a')))
  await log.append(2, encodeChanges(change('reaper: workspace o/r/w', 'w', [{ table: RUN_HISTORY, row: oversized }])))
  await log.append(3, encodeChanges(change('change b', 'b')))
  await log.close()

  const { app } = await build(t, { REAPER_PID_CHECK: 'off' }, { dataDir })
  const report = (await app.inject({ url: '/v1/recovery' })).json().log
  t.match(report, { folded_commit: 0, replayed: 3, last_commit: 3, torn: null, damaged: null, refused_total: 1 })
  t.match(report.refused, [{ commit: 2, source: 'reaper: workspace o/r/w', entries: ['sync_keys/w'], tables: [RUN_HISTORY], error: /Conversion Error/ }])
  const db = app.service.db as Database
  t.same(await db.rows("SELECT key FROM entries WHERE grp = 'sync_keys' ORDER BY key"), [['a'], ['b']], 'the changes around it are stored')
  t.equal(app.service.writer.mode, 'ok')
})
