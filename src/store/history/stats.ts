/** Run statistics: counts by outcome and duration percentiles per group, computed by DuckDB over the run history. */
import type { DuckDBConnection } from '@duckdb/node-api'
import type { RunStats, StatsGrouping } from './model.js'
import { RUN_HISTORY } from './table.js'

export const STATS_FILTERS = ['pool', 'agent', 'model', 'org', 'repo', 'host'] as const
export type StatsFilters = Partial<Record<typeof STATS_FILTERS[number], string>>

/** Outcomes that delivered the work; success_rate is their share of the runs. */
export const SUCCESS_OUTCOMES = ['completed', 'merged', 'ready-for-review'] as const

export interface StatsQuery {
  since: Date
  until: Date
  by?: StatsGrouping
  filters: StatsFilters
}

// Hours and days are UTC whatever DuckDB's TimeZone setting, as ISO strings a chart can put on its axis.
const KEY_SQL: Record<StatsGrouping, string> = {
  pool: 'pool',
  agent: 'agent',
  model: 'model',
  repo: "org || '/' || repo",
  host: 'host',
  hour: "strftime(date_trunc('hour', timezone('UTC', ended_at)), '%Y-%m-%dT%H:00:00Z')",
  day: "strftime(timezone('UTC', ended_at), '%Y-%m-%d')"
}

const quoted = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ')

/** Exact percentiles (quantile_cont interpolates), both from one sort per group. */
function statsSql (by: StatsGrouping | undefined, filters: StatsFilters): { sql: string, values: string[] } {
  const values: string[] = []
  const where = ['ended_at >= $1::TIMESTAMPTZ', 'ended_at < $2::TIMESTAMPTZ']
  for (const name of STATS_FILTERS) {
    const value = filters[name]
    if (value === undefined) continue
    values.push(value)
    where.push(`${name} = $${values.length + 2}`)
  }
  // Without `by` there is one group; an aggregate over no rows still answers a row, with a count of 0.
  const key = by === undefined ? "'all'" : KEY_SQL[by]
  const sql = `SELECT ${key} AS key, count(*) AS count,
      count(*) FILTER (WHERE outcome IN (${quoted(SUCCESS_OUTCOMES)})) AS completed,
      count(*) FILTER (WHERE outcome = 'failed') AS failed,
      count(*) FILTER (WHERE outcome = 'reaped') AS reaped,
      quantile_cont(duration_s, [0.5, 0.95]) AS q,
      max(duration_s) AS max_s
    FROM ${RUN_HISTORY}
    WHERE ${where.join(' AND ')}
    ${by === undefined ? '' : 'GROUP BY key ORDER BY key'}`
  return { sql, values }
}

function toStats (row: readonly unknown[]): RunStats {
  const [key, count, completed, failed, reaped, q, max] = row
  const n = Number(count)
  const [p50, p95] = q as [number, number]
  return {
    key: String(key),
    count: n,
    completed: Number(completed),
    failed: Number(failed),
    reaped: Number(reaped),
    other: n - Number(completed) - Number(failed) - Number(reaped),
    success_rate: Number(completed) / n,
    p50_s: p50,
    p95_s: p95,
    max_s: Number(max)
  }
}

/** One entry per group with runs in range, in key order; without `by`, the one group `all` (absent when no run ended in range). */
export async function runStats (conn: DuckDBConnection, q: StatsQuery): Promise<RunStats[]> {
  const { sql, values } = statsSql(q.by, q.filters)
  const rows = (await conn.runAndReadAll(sql, [q.since.toISOString(), q.until.toISOString(), ...values])).getRowsJS()
  return rows.filter((r) => Number(r[1]) > 0).map(toStats)
}
