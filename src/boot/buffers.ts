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
import type { OrphanOutcome } from '../store/startup/report.js'
import type { State } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    buffers: Buffers
    journal: Journal
  }
}

export interface BuffersOptions {
  dataDir: string
  onJournalled?: BuffersDeps['onJournalled']
}

const MESSAGES: Record<OrphanOutcome['outcome'], string> = {
  discarded: 'reaped orphan QA buffer: discarded, never committed',
  deleted_committed: 'removed the leftover file of a committed QA buffer',
  quarantined: 'moved an unreadable buffer file to quarantine',
  left_in_place: 'left a buffer file in place'
}

/**
 * Orphan recovery: each outcome goes into the report, the log and the event log; markers whose file is
 * gone are tombstoned. Skipped while the store is unavailable: without the markers, a committed
 * leftover cannot be told from a partial cycle, so the files wait for a start-up with the store.
 */
export async function recoverBuffers (state: State, dir: string, log: FastifyBaseLogger): Promise<void> {
  const { db, writer, events, clock, recovery } = state
  const report = recovery.report.orphans
  if (db === null || writer.mode === 'degraded') {
    report.skipped = 'the store is unavailable: without commit markers a committed leftover cannot be told from a partial cycle, so buffer files are left for a start-up with the store'
    log.warn('orphan recovery skipped: the store is unavailable')
    return
  }
  const markers = await readMarkers(db)
  const outcomes = await recoverOrphans(dir, markers)
  const at = clock().toISOString()
  for (const o of outcomes) {
    report.outcomes.push(o)
    const quiet = o.outcome === 'discarded' || o.outcome === 'deleted_committed'
    log[quiet ? 'info' : 'warn']({ file: o.file, outcome: o.outcome, detail: o.detail }, MESSAGES[o.outcome])
    events.record('buffer', o.file, { action: 'recovered', outcome: o.outcome, detail: o.detail }, at)
  }
  for (const name of markers) {
    const gone = await lstat(join(dir, `${name}.duckdb`)).then(() => false, () => true)
    if (gone) stageMarker(writer, name, null, at)
  }
  await writer.commit()
  if (outcomes.length > 0) {
    const counts: Record<string, number> = {}
    for (const o of outcomes) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1
    log.info({ counts }, 'orphan recovery done')
  }
}

async function buffers (app: FastifyInstance, { dataDir, onJournalled }: BuffersOptions): Promise<void> {
  const { state } = app
  const journal = new Journal()
  const open = new Buffers({ dataDir, writer: state.writer, events: state.events, journal, clock: state.clock, log: app.log, onJournalled })
  app.decorate('journal', journal)
  app.decorate('buffers', open)

  app.addHook('onClose', async () => {
    await open.closeAll()
  })
}

export default fp(buffers, { name: 'buffers', dependencies: ['store'] })
