/**
 * Reads over the stored event log for people rather than for replay: a filtered page of events (newest first),
 * how many workspaces ran per pool over time, and how many runs finished per hour by outcome. The log is the
 * only record of the past the service keeps, so the series are derived from it by DuckDB SQL, not sampled.
 */
import type { Database } from '../core/database.js'
import { storeUnavailable } from '../core/errors.js'
import { toChangeEvent } from './event-store.js'
import { EVENT_GROUP } from './events.js'
import type { ChangeEvent, EventType } from './model.js'

/** The store to read the log from; a 503 while it is not open (degraded), since memory keeps only the newest events. */
export function eventStore (db: Database | null): Database {
  if (db === null) throw storeUnavailable('the store is not open; the event log cannot be read')
  return db
}

export interface EventFilter {
  types: readonly EventType[] | null
  subject: string | null
  /** Only events with a key below this one (the cursor of the previous page). */
  beforeKey: string | null
  limit: number
}

/** A page of stored events, newest first, and the key to continue below (null on the last page). */
export async function readEventPage (db: Database, f: EventFilter): Promise<{ items: ChangeEvent[], nextKey: string | null }> {
  const where = ['grp = $1', 'value IS NOT NULL']
  const values: string[] = [EVENT_GROUP]
  const param = (v: string): string => { values.push(v); return `$${values.length}` }
  if (f.types !== null) where.push(`json_extract_string(value, '$.type') IN (${f.types.map(param).join(', ')})`)
  if (f.subject !== null) where.push(`json_extract_string(value, '$.subject') = ${param(f.subject)}`)
  if (f.beforeKey !== null) where.push(`key < ${param(f.beforeKey)}`)
  // One row more than asked says whether another page follows.
  const rows = await db.rows(`SELECT key, value FROM entries WHERE ${where.join(' AND ')} ORDER BY key DESC LIMIT ${f.limit + 1}`, values)
  const page = rows.slice(0, f.limit)
  const nextKey = rows.length > f.limit ? String(page[page.length - 1]?.[0]) : null
  return { items: page.map((r) => toChangeEvent([r[1]])), nextKey }
}

/**
 * Every workspace event as a transition: the pool it counts in before and after, and whether it was running
 * before and after. A delete carries no agent, so the pool is carried forward from the subject's earlier
 * events; the first retained event of a workspace is taken to start from "not running".
 */
const TRANSITIONS = `
  WITH ev AS (
    SELECT key,
           json_extract_string(value, '$.subject') AS name,
           CAST(json_extract_string(value, '$.at') AS TIMESTAMPTZ) AS ts,
           json_extract_string(value, '$.data.action') AS action,
           json_extract_string(value, '$.data.status') AS status,
           split_part(json_extract_string(value, '$.data.agent'), ':', 1) AS agent_pool
    FROM entries
    WHERE grp = '${EVENT_GROUP}' AND value IS NOT NULL AND json_extract_string(value, '$.type') = 'workspace'
  ), carried AS (
    SELECT *, last_value(agent_pool IGNORE NULLS) OVER (PARTITION BY name ORDER BY key ROWS UNBOUNDED PRECEDING) AS pool
    FROM ev
  )
  SELECT key, ts, action, status, pool,
         -- A delete's status is the one the workspace had: it stops running all the same.
         coalesce(status = 'running' AND action <> 'deleted', false) AS running,
         lag(pool) OVER (PARTITION BY name ORDER BY key) AS prev_pool,
         coalesce(lag(status = 'running' AND action <> 'deleted') OVER (PARTITION BY name ORDER BY key), false) AS was_running
  FROM carried`

export interface RunningSeries {
  /** Bucket starts, in ms since the epoch, oldest first. */
  times: number[]
  /** Per pool, the most workspaces running at once during each bucket. */
  pools: Record<string, number[]>
}

/**
 * Running workspaces per pool in buckets of `stepMs` from `sinceMs` to `untilMs`. The log gives every change of
 * the count; today's count (from memory) anchors them, so the level before the first change in the window is
 * `now − the sum of the changes since`, with nothing read from before the window but each workspace's previous event.
 */
export async function runningSeries (db: Database, current: ReadonlyMap<string, number>, sinceMs: number, untilMs: number, stepMs: number): Promise<RunningSeries> {
  const rows = await db.rows(`
    WITH t AS (${TRANSITIONS}),
    deltas AS (
      SELECT key, ts, pool, 1 AS d FROM t WHERE running
      UNION ALL
      SELECT key, ts, prev_pool, -1 FROM t WHERE was_running
    ), net AS (
      SELECT key, any_value(ts) AS ts, pool, sum(d) AS d FROM deltas
      WHERE epoch_ms(ts) >= $1 AND pool IS NOT NULL
      GROUP BY key, pool HAVING sum(d) <> 0
    ), level AS (
      SELECT key, ts, pool, sum(d) OVER (PARTITION BY pool ORDER BY key ROWS UNBOUNDED PRECEDING) AS level FROM net
    )
    SELECT pool, CAST(floor((epoch_ms(ts) - $1) / $2) AS BIGINT) AS bucket, max(level), arg_max(level, key)
    FROM level GROUP BY pool, bucket ORDER BY pool, bucket`, [sinceMs, stepMs])

  const count = Math.max(1, Math.ceil((untilMs - sinceMs) / stepMs))
  const times = Array.from({ length: count }, (_, i) => sinceMs + i * stepMs)
  const byPool = new Map<string, Array<{ bucket: number, max: number, last: number }>>()
  for (const [pool, bucket, max, last] of rows) {
    const list = byPool.get(String(pool)) ?? []
    list.push({ bucket: Number(bucket), max: Number(max), last: Number(last) })
    byPool.set(String(pool), list)
  }
  const pools: Record<string, number[]> = {}
  for (const pool of new Set([...current.keys(), ...byPool.keys()])) {
    const changes = byPool.get(pool) ?? []
    // Levels in SQL count from 0 at the window's start; the last one must land on today's count.
    const offset = (current.get(pool) ?? 0) - (changes[changes.length - 1]?.last ?? 0)
    const series = new Array<number>(count)
    let carried = offset
    let next = 0
    for (let i = 0; i < count; i++) {
      const change = changes[next]
      if (change !== undefined && change.bucket === i) {
        series[i] = Math.max(carried, change.max + offset)
        carried = change.last + offset
        next++
      } else {
        series[i] = carried
      }
    }
    pools[pool] = series
  }
  return { times, pools }
}

export interface FinishedHour {
  /** The hour's start. */
  hour: string
  count: number
  completed: number
  failed: number
  reaped: number
  /** Left running for any other state: blocked, ready-for-review, merged, queued, deleted… */
  other: number
}

/** Runs that left `running` per hour, by outcome; a reaped run counts as `reaped`, not `failed`. */
export async function finishedPerHour (db: Database, sinceMs: number, untilMs: number): Promise<FinishedHour[]> {
  const rows = await db.rows(`
    WITH t AS (${TRANSITIONS})
    SELECT date_trunc('hour', ts) AS hour, count(*),
           count(*) FILTER (WHERE status = 'completed' AND action <> 'reaped'),
           count(*) FILTER (WHERE status = 'failed' AND action <> 'reaped'),
           count(*) FILTER (WHERE action = 'reaped')
    FROM t
    WHERE was_running AND NOT running AND epoch_ms(ts) >= $1 AND epoch_ms(ts) < $2
    GROUP BY hour ORDER BY hour`, [sinceMs, untilMs])
  return rows.map(([hour, count, completed, failed, reaped]) => {
    const n = [count, completed, failed, reaped].map(Number) as [number, number, number, number]
    return { hour: (hour as Date).toISOString(), count: n[0], completed: n[1], failed: n[2], reaped: n[3], other: n[0] - n[1] - n[2] - n[3] }
  })
}
