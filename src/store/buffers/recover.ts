/**
 * The start-up step for the QA buffers an earlier process left (API §8.3): orphan recovery with the store's
 * commit markers, then the quarantine kept within its bound. Each outcome goes into the report, the log and
 * the event log; markers whose file is gone are tombstoned.
 */
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Database } from '../core/database.js'
import type { Logger } from '../core/logger.js'
import type { StoreHandle } from '../core/store-handle.js'
import type { Writer } from '../core/writer.js'
import type { EventLog } from '../events/events.js'
import type { OrphanOutcome, Recovery } from '../startup/report.js'
import { readMarkers, stageMarker } from './markers.js'
import { recoverOrphans } from './orphans.js'
import { pruneQuarantine, QUARANTINE } from './quarantine.js'

const MESSAGES: Record<OrphanOutcome['outcome'], string> = {
  discarded: 'reaped orphan QA buffer: discarded, never committed',
  deleted_committed: 'removed the leftover file of a committed QA buffer',
  quarantined: 'moved an unreadable buffer file to quarantine',
  left_in_place: 'left a buffer file in place'
}

export interface RecoverDeps {
  writer: Writer
  handle: StoreHandle
  events: EventLog
  recovery: Recovery
  clock: () => Date
  log: Logger
}

/**
 * Orphan recovery, then the quarantine kept within `keep` (logged file by file). Recovery is skipped without
 * a store: without the markers, a committed leftover cannot be told from a partial cycle, so the files wait
 * for a start-up with the store. The quarantine needs no store and is pruned either way.
 */
export async function recoverBuffers (deps: RecoverDeps, db: Database | null, dir: string, keep: number): Promise<void> {
  const { recovery, log } = deps
  if (db === null || deps.writer.mode === 'degraded') {
    recovery.report.orphans.skipped = 'the store is unavailable: without commit markers a committed leftover cannot be told from a partial cycle, so buffer files are left for a start-up with the store'
    log.warn({}, 'orphan recovery skipped: the store is unavailable')
  } else {
    recovery.report.orphans.skipped = null
    await recoverWithStore(deps, db, dir)
  }
  const pruned = await pruneQuarantine(dir, keep).catch((err: unknown) => {
    log.warn({ err }, 'could not prune the quarantine folder; the next start-up tries again')
    return []
  })
  for (const file of pruned) log.warn({ file: `${QUARANTINE}/${file}`, keep }, 'removed a quarantined buffer file: QUARANTINE_KEEP newer ones are kept')
}

async function recoverWithStore ({ writer, handle, events, clock, recovery, log }: RecoverDeps, db: Database, dir: string): Promise<void> {
  const markers = await readMarkers(db)
  const outcomes = await recoverOrphans(dir, markers)
  const at = clock().toISOString()
  for (const o of outcomes) {
    recovery.report.orphans.outcomes.push(o)
    const quiet = o.outcome === 'discarded' || o.outcome === 'deleted_committed'
    log[quiet ? 'info' : 'warn']({ component: 'orphans', file: o.file, outcome: o.outcome, detail: o.detail }, MESSAGES[o.outcome])
    events.record('buffer', o.file, { action: 'recovered', outcome: o.outcome, detail: o.detail }, at)
  }
  for (const name of markers) {
    const gone = await lstat(join(dir, `${name}.duckdb`)).then(() => false, () => true)
    if (gone) stageMarker(writer, name, null, at)
  }
  await handle.commitOrHold()
  if (outcomes.length > 0) {
    const counts: Record<string, number> = {}
    for (const o of outcomes) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1
    log.info({ component: 'orphans', counts }, 'orphan recovery done')
  }
}
