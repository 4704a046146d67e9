/**
 * Exports: a dataset (run history, events, journal, workspaces) as Parquet, CSV or NDJSON, written by
 * DuckDB's COPY to a file that the route streams and removes. Stored JSON becomes typed columns.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { EVENT_GROUP } from '../events/events.js'
import { JOURNAL_GROUP } from '../buffers/journal.js'
import { REGISTRY_GROUP } from '../workspaces/workspaces.js'
import { RUN_HISTORY } from './table.js'

export const EXPORT_DATASETS = ['runs', 'events', 'journal', 'workspaces'] as const
export type ExportDataset = typeof EXPORT_DATASETS[number]

/**
 * Times in text formats as RFC 3339 in UTC, the way the API writes them (`2026-12-02T18:52:43.678Z`), not DuckDB's
 * `2026-12-02 18:52:43.678+00`. The literal Z holds because the analytics lane runs every export in TimeZone UTC;
 * stored times have millisecond precision (JavaScript dates).
 */
const RFC3339 = "TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%gZ'"

export const EXPORT_FORMATS = {
  parquet: { ext: 'parquet', contentType: 'application/vnd.apache.parquet', options: 'FORMAT parquet, COMPRESSION zstd' },
  csv: { ext: 'csv', contentType: 'text/csv; charset=utf-8', options: `FORMAT csv, HEADER true, ${RFC3339}` },
  ndjson: { ext: 'ndjson', contentType: 'application/x-ndjson', options: `FORMAT json, ${RFC3339}` }
} as const
export type ExportFormat = keyof typeof EXPORT_FORMATS

/** `(value->>'field')::TYPE AS field` for each field of a stored JSON object. */
const fields = (spec: ReadonlyArray<[string, string]>): string =>
  spec.map(([name, type]) => `(value->>'${name}')::${type} AS ${name}`).join(',\n      ')

const WORKSPACE_FIELDS: Array<[string, string]> = [
  ['name', 'VARCHAR'], ['org', 'VARCHAR'], ['repo', 'VARCHAR'], ['leaf', 'VARCHAR'], ['status', 'VARCHAR'],
  ['agent', 'VARCHAR'], ['pool', 'VARCHAR'], ['runs', 'INTEGER'], ['task', 'VARCHAR'], ['branch', 'VARCHAR'],
  ['issue', 'INTEGER'], ['pid', 'INTEGER'], ['pid_started_at', 'TIMESTAMPTZ'], ['host', 'VARCHAR'],
  ['process_id', 'VARCHAR'], ['question', 'VARCHAR'], ['priority', 'INTEGER'], ['pr_url', 'VARCHAR'],
  ['note', 'VARCHAR'], ['runtime', 'VARCHAR'], ['started_at', 'TIMESTAMPTZ'], ['queued_at', 'TIMESTAMPTZ'],
  ['updated_at', 'TIMESTAMPTZ'], ['heartbeat_at', 'TIMESTAMPTZ']
]

interface Source {
  /** The query, with `{range}` where the time condition goes. */
  sql: string
  /** The column the time range applies to. */
  time: string
}

// Entries' updated_at is the event's `at`, the journal row's committed_at and the record's updated_at.
const SOURCES: Record<ExportDataset, Source> = {
  runs: { sql: `SELECT * FROM ${RUN_HISTORY} WHERE {range}`, time: 'ended_at' },
  events: {
    sql: `SELECT key::BIGINT AS id, value->>'type' AS type, value->>'subject' AS subject, updated_at AS at, value->'data' AS data
      FROM entries WHERE grp = '${EVENT_GROUP}' AND value IS NOT NULL AND {range} ORDER BY key`,
    time: 'updated_at'
  },
  journal: {
    sql: `SELECT key::BIGINT AS id, value->>'measurement' AS measurement, value->'tags'->>'workspace' AS workspace,
        updated_at AS committed_at, value->'fields'->'aggregate' AS aggregate, value->'fields'->'findings' AS findings
      FROM entries WHERE grp = '${JOURNAL_GROUP}' AND value IS NOT NULL AND {range} ORDER BY key`,
    time: 'updated_at'
  },
  workspaces: {
    sql: `SELECT ${fields(WORKSPACE_FIELDS)},
      value->'reaped'->>'reason' AS reaped_reason, value->'reaped'->>'evidence' AS reaped_evidence,
      (value->'reaped'->>'at')::TIMESTAMPTZ AS reaped_at
      FROM entries WHERE grp = '${REGISTRY_GROUP}' AND value IS NOT NULL AND {range} ORDER BY key`,
    time: 'updated_at'
  }
}

export interface TimeRange {
  since?: Date
  until?: Date
}

/** The SQL condition for a range; toISOString's fixed alphabet is what makes the literal safe to inline (COPY takes no parameters). */
function rangeSql (column: string, { since, until }: TimeRange): string {
  const parts = ['true']
  if (since !== undefined) parts.push(`${column} >= TIMESTAMPTZ '${since.toISOString()}'`)
  if (until !== undefined) parts.push(`${column} < TIMESTAMPTZ '${until.toISOString()}'`)
  return parts.join(' AND ')
}

/** Writes the dataset to `file` (a path the caller made, under the data folder). */
export async function exportToFile (conn: DuckDBConnection, dataset: ExportDataset, format: ExportFormat, range: TimeRange, file: string): Promise<void> {
  const source = SOURCES[dataset]
  const query = source.sql.replace('{range}', rangeSql(source.time, range))
  await conn.run(`COPY (${query}) TO '${file.replaceAll("'", "''")}' (${EXPORT_FORMATS[format].options})`)
}
