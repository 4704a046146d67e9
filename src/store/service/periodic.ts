/**
 * The periodic pass, every REAPER_INTERVAL_S once started: drop expired backoffs, reap ghosts, and keep the
 * stored history within its bounds (the event log's EVENT_RETENTION newest events, the run history's days
 * and rows). One pass, one timer: retention is one job over both logs.
 */
import { pruneEvents } from '../events/event-store.js'
import { pruneHistory } from '../history/retention.js'
import type { Service } from './service.js'

export async function periodicPass (s: Service): Promise<void> {
  const tidy = s.pools.sweep(s.clock()) ? s.writer.commit() : Promise.resolve()
  await Promise.all([tidy, s.reaper.run(), retention(s)])
}

/** Deletes what the retention settings no longer keep; nothing while the store cannot take writes. */
export async function retention (s: Service): Promise<void> {
  const db = s.db
  if (db === null || s.handle.mode !== 'ok') return
  // What is logged but not folded counts too: the newest events and runs are kept by number, not by luck.
  await s.writer.folded()
  const { eventRetention, historyRetentionDays, historyMaxRows } = s.settings
  const events = await pruneEvents(db, eventRetention)
  if (events > 0) s.log.debug({ pruned: events, kept: eventRetention }, 'event log trimmed')
  if (historyRetentionDays === 0) return
  const runs = await pruneHistory(db, s.clock(), historyRetentionDays, historyMaxRows)
  if (runs > 0) s.log.info({ deleted: runs }, 'run history trimmed')
}
