/**
 * QA buffers and the journal (API §7): decorates `buffers` and `journal`, and holds the start-up step that
 * recovers the buffers an earlier process left (API §8.3), which startup.ts runs.
 */
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Buffers, type BuffersDeps } from '../store/buffers/buffers.js'
import { Journal } from '../store/buffers/journal.js'
import { readMarkers, stageMarker } from '../store/buffers/markers.js'
import { recoverOrphans } from '../store/buffers/orphans.js'
import { pruneQuarantine, QUARANTINE } from '../store/buffers/quarantine.js'
import type { Database } from '../store/core/database.js'
import type { OrphanOutcome } from '../store/startup/report.js'
import type { State } from './store.js'
import type { Limits } from '../store/core/limits.js'

declare module 'fastify' {
  interface FastifyInstance {
    buffers: Buffers
    journal: Journal
  }
}

export interface BuffersOptions {
  dataDir: string
  limits: Limits
  onJournalled?: BuffersDeps['onJournalled']
}

const MESSAGES: Record<OrphanOutcome['outcome'], string> = {
  discarded: 'reaped orphan QA buffer: discarded, never committed',
  deleted_committed: 'removed the leftover file of a committed QA buffer',
  quarantined: 'moved an unreadable buffer file to quarantine',
  left_in_place: 'left a buffer file in place'
}

/**
 * Orphan recovery, then the quarantine kept within `keep` (logged file by file). Each outcome goes into the
 * report, the log and the event log; markers whose file is gone are tombstoned. Recovery is skipped while the
 * store is unavailable: without the markers, a committed leftover cannot be told from a partial cycle, so the
 * files wait for a start-up with the store. The quarantine needs no store and is pruned either way.
 */
export async function recoverBuffers (state: State, dir: string, keep: number, log: FastifyBaseLogger): Promise<void> {
  const { db, handle, recovery } = state
  if (db === null || handle.mode === 'degraded') {
    recovery.report.orphans.skipped = 'the store is unavailable: without commit markers a committed leftover cannot be told from a partial cycle, so buffer files are left for a start-up with the store'
    log.warn('orphan recovery skipped: the store is unavailable')
  } else {
    await recoverWithStore(state, db, dir, log)
  }
  const pruned = await pruneQuarantine(dir, keep).catch((err: unknown) => {
    log.warn({ err }, 'could not prune the quarantine folder; the next start-up tries again')
    return []
  })
  for (const file of pruned) log.warn({ file: `${QUARANTINE}/${file}`, keep }, 'removed a quarantined buffer file: QUARANTINE_KEEP newer ones are kept')
}

async function recoverWithStore (state: State, db: Database, dir: string, log: FastifyBaseLogger): Promise<void> {
  const { writer, handle, events, clock, recovery } = state
  const markers = await readMarkers(db)
  const outcomes = await recoverOrphans(dir, markers)
  const at = clock().toISOString()
  for (const o of outcomes) {
    recovery.report.orphans.outcomes.push(o)
    const quiet = o.outcome === 'discarded' || o.outcome === 'deleted_committed'
    log[quiet ? 'info' : 'warn']({ file: o.file, outcome: o.outcome, detail: o.detail }, MESSAGES[o.outcome])
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
    log.info({ counts }, 'orphan recovery done')
  }
}

async function buffers (app: FastifyInstance, { dataDir, limits, onJournalled }: BuffersOptions): Promise<void> {
  const { state } = app
  const journal = new Journal(limits.journalBytes)
  const open = new Buffers({ dataDir, writer: state.writer, events: state.events, journal, clock: state.clock, log: app.log, limits, onJournalled })
  app.decorate('journal', journal)
  app.decorate('buffers', open)

  app.addHook('onClose', async () => {
    await open.closeAll()
  })
}

export default fp(buffers, { name: 'buffers', dependencies: ['store'] })
