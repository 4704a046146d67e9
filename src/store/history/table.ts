/** The run history table: one row per ended run (store/run-ends.ts decides when a run ends and how). */
import type { Append } from '../core/appends.js'
import type { EndSource, RunEnd } from '../workspaces/run-ends.js'

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

/**
 * The history row of an ended run. A run's own outcome that overrules its reap replaces the reap's row
 * (the same run: workspace, runs and start) in the same commit, so the history counts the outcome, once.
 */
export function historyAppend (end: RunEnd, source: EndSource): Append {
  const row = { ...end }
  if (source !== 'late_outcome') return { table: RUN_HISTORY, row }
  return { table: RUN_HISTORY, row, replaces: { workspace: end.workspace, runs: end.runs, started_at: end.started_at, outcome: 'reaped' } }
}
