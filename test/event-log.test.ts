import t from 'tap'
import type { Database } from '../src/store/core/database.js'
import { EventRing } from '../src/store/events/event-ring.js'
import { readEventsAfter } from '../src/store/events/event-store.js'
import type { ChangeEvent } from '../src/store/events/model.js'
import { toScalarNumber } from '../src/store/core/rows.js'
import { build, put, report, storedGroup } from './helper.js'

const ev = (id: number): ChangeEvent => ({ id, type: 'workspace', subject: `core/a/t${id}`, at: '2026-01-01T00:00:00.000Z', data: { action: 'deleted', status: 'completed' } })

/** Polls until `check` holds or `ms` pass; every wait in these tests is bounded. */
async function eventually (check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return check()
}

t.test('the ring keeps the newest events and says which ids it covers', async (t) => {
  const ring = new EventRing(3)
  t.equal(ring.coversAfter, 0)
  for (const id of [10, 20, 30]) ring.push(ev(id))
  t.same(ring.after(0).map((e) => e.id), [10, 20, 30])
  t.same(ring.after(20).map((e) => e.id), [30])
  t.same(ring.after(25).map((e) => e.id), [30], 'an id between two events')
  t.same(ring.after(30), [])
  ring.push(ev(40))
  t.equal(ring.coversAfter, 10, 'the evicted event is no longer covered')
  t.same(ring.after(0).map((e) => e.id), [20, 30, 40])
  ring.exclude(5)
  t.equal(ring.coversAfter, 10, 'exclusion never widens coverage')
  ring.exclude(35)
  t.equal(ring.coversAfter, 35)
})

t.test('after a restart the ring covers only what this process recorded; the store has the rest', async (t) => {
  const { app, dataDir } = await build(t)
  await put(app, 'core/a/t1', report({ status: 'queued', runs: 0 }))
  await put(app, 'core/a/t2', report({ status: 'queued', runs: 0 }))
  const firstRun = app.service.events.recent.after(0).map((e) => e.id)
  t.equal(firstRun.length, 2)
  await app.close()

  const again = await build(t, {}, { dataDir })
  const { events, db } = again.app.service
  t.equal(events.recent.coversAfter, firstRun[1], 'stored events are not claimed by the new ring')
  t.same(events.recent.after(0), [])
  const stored = await readEventsAfter(db as Database, 0, 10)
  t.same(stored.map((e) => e.id), firstRun)
  t.match(stored[0], { type: 'workspace', subject: 'core/a/t1', data: { action: 'created', status: 'queued' } })
  t.same((await readEventsAfter(db as Database, firstRun[0] as number, 10)).map((e) => e.id), [firstRun[1]], 'strictly after the id')
  t.same((await readEventsAfter(db as Database, 0, 1)).map((e) => e.id), [firstRun[0]], 'paged by the limit')
})

t.test('the periodic pass keeps the newest EVENT_RETENTION events in the store', async (t) => {
  const { app, dataDir } = await build(t, { EVENT_RETENTION: '5', REAPER_INTERVAL_S: '1' })
  for (let i = 0; i < 12; i++) await put(app, `core/a/t${i}`, report({ status: 'queued', runs: 0 }))
  const recorded = app.service.events.recent.after(0).map((e) => e.id)
  t.equal(recorded.length, 12)
  const newest = recorded.slice(-5)
  const db = app.service.db as Database
  // A pass may already have run while the PUTs went in; either way it ends at five.
  const count = async () => toScalarNumber(await db.rows("SELECT count(*) FROM entries WHERE grp = 'event'"))
  t.ok(await eventually(async () => await count() === 5, 5000), 'trimmed to 5 within a pass')
  await app.close()
  t.same([...(await storedGroup(dataDir, 'event')).values()].map((e) => (e as ChangeEvent).id), newest, 'the newest five are kept')
})
