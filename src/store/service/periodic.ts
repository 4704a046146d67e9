/**
 * The periodic pass, every REAPER_INTERVAL_S once started: learn which workspace folders exist (one made
 * since the last pass gets its status.json from the next change on), drop expired backoffs, reap ghosts,
 * and keep the stored history within its bounds (the event log's EVENT_RETENTION newest events, the run
 * history's days and rows). One pass, one timer: retention is one job over both logs.
 */
import { pruneEvents } from '../events/event-store.js'
import { pruneHistory } from '../history/retention.js'
import { workspaceFolders } from '../workspaces/status-scan.js'
import type { Service } from './service.js'

export async function periodicPass (s: Service): Promise<void> {
  findFolders(s)
  const tidy = s.pools.sweep(s.clock()) ? s.writer.commit() : Promise.resolve()
  await Promise.all([tidy, s.reaper.run(), retention(s)])
}

/**
 * Learns which workspace folders exist now. Synchronous: a readdir per org and repo folder (1,111 for
 * 10,000 workspaces in 1,000 repos), which is cheaper than the promises of an asynchronous walk.
 */
export function findFolders (s: Service): void {
  s.files.knowFolders(workspaceFolders(s.settings.dataDir).map((f) => f.name))
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
