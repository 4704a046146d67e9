/** The run history table: one row per ended run (store/run-ends.ts decides when a run ends and how). */
import Compile from 'typebox/compile'
import type { Logger } from '../core/logger.js'
// The times are checked by the service's one `date-time` format, which time.ts registers.
import '../core/time.js'
import type { Writer } from '../core/writer.js'
import { RunEndSchema, type EndSource, type RunEnd } from '../workspaces/run-ends.js'

export const RUN_HISTORY = 'run_history'

// Rows arrive in commit order, so `ended_at` grows with the row number and DuckDB's per-row-group
// min/max lets a time-range scan skip most of the table without an index.
export const RUN_HISTORY_SQL = `CREATE TABLE ${RUN_HISTORY} (
  workspace VARCHAR NOT NULL,
  org VARCHAR NOT NULL,
  repo VARCHAR NOT NULL,
  pool VARCHAR NOT NULL,
  agent VARCHAR NOT NULL,
  model VARCHAR NOT NULL,
  runs INTEGER NOT NULL,
  host VARCHAR NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  ended_at TIMESTAMPTZ NOT NULL,
  duration_s DOUBLE NOT NULL,
  outcome VARCHAR NOT NULL,
  reap_reason VARCHAR
)`

const RunEndCheck = Compile(RunEndSchema)

/**
 * Stages each ended run as a history row, in the commit of the change that ended it. A run's own outcome
 * that overrules its reap replaces the reap's row (the same run: workspace, runs and start) in the same
 * commit, so the history counts the outcome, once. A row its columns cannot hold (a record stored before
 * reports were bounded, say with a `runs` past INTEGER) is left out and logged: staged, it would fail the
 * whole commit, and the change itself is still worth storing.
 */
export function historyRecorder (writer: Writer, log: Logger): (end: RunEnd, source: EndSource) => void {
  return (end, source) => {
    const { workspace, runs } = end
    if (!RunEndCheck.Check(end)) {
      const first = [...RunEndCheck.Errors(end)][0]
      log.warn({ workspace, runs, error: `${first?.instancePath ?? ''} ${first?.message ?? ''}`.trim() }, 'run history: an ended run its columns cannot hold was not recorded')
      return
    }
    const replaces = source === 'late_outcome' ? { workspace, runs, started_at: end.started_at, outcome: 'reaped' } : undefined
    writer.stageAppend(RUN_HISTORY, { ...end }, replaces)
  }
}
