/** The history domain's answers: run statistics per group, and a backup's manifest. */
import { Type, type Static } from 'typebox'
import { DateTime } from '../core/schema.js'

export const STATS_GROUPINGS = ['pool', 'agent', 'model', 'repo', 'host', 'hour', 'day'] as const
export type StatsGrouping = typeof STATS_GROUPINGS[number]

export const RunStatsSchema = Type.Object({
  key: Type.String({ description: 'The group: a pool, agent, model, `org/repo`, host, hour (`2026-11-30T14:00:00Z`) or day (`2026-11-30`), in UTC; `all` without `by`. An empty string is a model or host that was not reported.' }),
  count: Type.Integer({ description: 'Runs that ended in the range.' }),
  completed: Type.Integer({ description: 'Ended `completed`, `merged` or `ready-for-review`: the work was delivered.' }),
  failed: Type.Integer({ description: 'Ended `failed` by a report.' }),
  reaped: Type.Integer({ description: 'Failed by the reaper (dead or reused PID, expired lease).' }),
  other: Type.Integer({ description: 'Ended otherwise: `blocked`, `rejected`, back to `queued`, `superseded` by a higher run, or `deleted` while running.' }),
  success_rate: Type.Number({ description: '`completed / count`, 0 to 1.' }),
  p50_s: Type.Number({ description: 'Median run duration in seconds (interpolated).' }),
  p95_s: Type.Number({ description: '95th percentile of the run duration in seconds (interpolated).' }),
  max_s: Type.Number({ description: 'Longest run in seconds.' })
})
export type RunStats = Static<typeof RunStatsSchema>

/** `GET /v1/stats/runs`: the range the statistics cover, the grouping, and a group each. */
export const RunStatsAnswerSchema = Type.Object({
  since: DateTime(),
  until: DateTime(),
  by: Type.Union([Type.Enum(STATS_GROUPINGS), Type.Null()]),
  groups: Type.Array(RunStatsSchema, { description: 'One per group with at least one run in the range, in key order (hours and days without runs are absent).' })
})

export const BackupSchema = Type.Object({
  name: Type.String(),
  created_at: DateTime('When the backup was asked for: it holds every write acknowledged before then.'),
  bytes: Type.Integer({ description: 'Size of its `db.duckdb`.' }),
  duration_ms: Type.Integer({ description: 'How long taking it took.' }),
  write_stall_ms: Type.Integer({ description: 'How long writes waited meanwhile: for the statement that holds off checkpoints during the copy.' }),
  schema_version: Type.Integer({ description: 'The store\'s schema version in the copy; a newer service migrates it on start.' }),
  entries: Type.Integer({ description: 'Rows of the key-value table in the copy, read back from it.' }),
  history_rows: Type.Integer({ description: 'Run history rows in the copy.' })
}, { description: 'A backup: `$DATA_DIR/backups/<name>/db.duckdb`, a DuckDB file that opens on its own, and its `manifest.json`.' })
export type BackupInfo = Static<typeof BackupSchema>
