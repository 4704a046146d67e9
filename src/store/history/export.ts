/**
 * Exports: a dataset (run history, events, journal, workspaces) as Parquet, CSV or NDJSON, written to a file
 * that the route streams and removes. Stored JSON becomes typed columns; nested parts stay JSON.
 *
 * Why it is built this way (measured in docs/history.md): 2,000 workspaces with 2 KB tasks made DuckDB run
 * out of its 256 MB in one `COPY`, and the writer's next commit with it. Per row, every `value->>'field'`
 * parsed the whole JSON again (24 fields, 24 parses, all kept until the 2,048-row chunk was done), and
 * DuckDB's JSON writer needed over 1 GB for a journal of eight 7 MB cycles. So here:
 * - the work runs on the analytics instance (analytics.ts), never on the store's: a copy of the store
 *   (snapshot.ts) is attached to it, read-only;
 * - stored rows are read in batches of about EXPORT_BATCH_BYTES in key order and parsed once each, by
 *   JSON.parse;
 * - NDJSON lines are written as each batch is read; CSV and Parquet rows go into a typed table of the
 *   analytics instance (which spills to disk past its memory limit) that DuckDB's `COPY` then writes.
 */
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { DuckDBTimestampTZValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api'
import { diskFull, orDiskFull, type DiskReserve } from '../core/disk.js'
import { EVENT_GROUP } from '../events/events.js'
import { JOURNAL_GROUP } from '../buffers/journal.js'
import { REGISTRY_GROUP } from '../workspaces/workspaces.js'
import type { Analytics } from './analytics.js'
import type { Lane } from './lane.js'
import { copyStore, storeBytes } from './snapshot.js'
import { RUN_HISTORY } from './table.js'

export const EXPORT_DATASETS = ['runs', 'events', 'journal', 'workspaces'] as const
export type ExportDataset = typeof EXPORT_DATASETS[number]

/**
 * Times in text formats as RFC 3339 in UTC, the way the API writes them (`2026-12-02T18:52:43.678Z`), not DuckDB's
 * `2026-12-02 18:52:43.678+00`. The literal Z holds because the analytics instance runs every export in TimeZone UTC;
 * stored times have millisecond precision (JavaScript dates).
 */
const RFC3339 = "TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%gZ'"

export const EXPORT_FORMATS = {
  parquet: { ext: 'parquet', contentType: 'application/vnd.apache.parquet', options: 'FORMAT parquet, COMPRESSION zstd' },
  csv: { ext: 'csv', contentType: 'text/csv; charset=utf-8', options: `FORMAT csv, HEADER true, ${RFC3339}` },
  // NDJSON lines are written here, times by toISOString (ndjsonLine), so no COPY options.
  ndjson: { ext: 'ndjson', contentType: 'application/x-ndjson', options: null }
} as const
export type ExportFormat = keyof typeof EXPORT_FORMATS

// Stored JSON read per batch: a batch is parsed, converted and written before the next is read.
const EXPORT_BATCH_BYTES = 4 * 1024 * 1024

type Kind = 'varchar' | 'integer' | 'bigint' | 'timestamptz' | 'json'
const SQL_TYPES: Record<Kind, string> = { varchar: 'VARCHAR', integer: 'INTEGER', bigint: 'BIGINT', timestamptz: 'TIMESTAMPTZ', json: 'JSON' }
/** A value of a column: JSON text for `json`, a Date for `timestamptz`. */
type Cell = string | number | Date | null

type JsonObject = Record<string, unknown>

const text = (v: unknown): string | null => v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)
const int32 = (v: unknown): number | null => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2147483647 ? v : null
function time (v: unknown): Date | null {
  const ms = typeof v === 'string' ? Date.parse(v) : NaN
  return Number.isNaN(ms) ? null : new Date(ms)
}
const json = (v: unknown): string | null => v === undefined ? null : JSON.stringify(v)
const object = (v: unknown): JsonObject => v !== null && typeof v === 'object' ? v as JsonObject : {}

/** A dataset held in the store's key-value entries: its group, its columns and how a stored row becomes them. */
interface EntriesSource {
  group: string
  columns: ReadonlyArray<readonly [name: string, kind: Kind]>
  /** The row's cells, in column order; `updatedAt` is the entry's time (the event's `at`, the journal row's commit). */
  cells: (key: string, value: JsonObject, updatedAt: Date) => Cell[]
}

const WORKSPACE_FIELDS: ReadonlyArray<readonly [string, Kind]> = [
  ['name', 'varchar'], ['org', 'varchar'], ['repo', 'varchar'], ['leaf', 'varchar'], ['status', 'varchar'],
  ['agent', 'varchar'], ['pool', 'varchar'], ['runs', 'integer'], ['task', 'varchar'], ['branch', 'varchar'],
  ['issue', 'integer'], ['pid', 'integer'], ['pid_started_at', 'timestamptz'], ['host', 'varchar'],
  ['process_id', 'varchar'], ['question', 'varchar'], ['priority', 'integer'], ['pr_url', 'varchar'],
  ['note', 'varchar'], ['runtime', 'varchar'], ['started_at', 'timestamptz'], ['queued_at', 'timestamptz'],
  ['updated_at', 'timestamptz'], ['heartbeat_at', 'timestamptz']
]

const CONVERT: Record<Exclude<Kind, 'json' | 'bigint'>, (v: unknown) => Cell> = { varchar: text, integer: int32, timestamptz: time }

const ENTRIES: Record<Exclude<ExportDataset, 'runs'>, EntriesSource> = {
  events: {
    group: EVENT_GROUP,
    columns: [['id', 'bigint'], ['type', 'varchar'], ['subject', 'varchar'], ['at', 'timestamptz'], ['data', 'json']],
    cells: (key, v, at) => [Number(key), text(v.type), text(v.subject), at, json(v.data)]
  },
  journal: {
    group: JOURNAL_GROUP,
    columns: [['id', 'bigint'], ['measurement', 'varchar'], ['workspace', 'varchar'], ['committed_at', 'timestamptz'], ['aggregate', 'json'], ['findings', 'json']],
    cells: (key, v, at) => [Number(key), text(v.measurement), text(object(v.tags).workspace), at, json(object(v.fields).aggregate), json(object(v.fields).findings)]
  },
  workspaces: {
    group: REGISTRY_GROUP,
    columns: [...WORKSPACE_FIELDS, ['reaped_reason', 'varchar'], ['reaped_evidence', 'varchar'], ['reaped_at', 'timestamptz']],
    cells: (_key, v) => {
      const reaped = object(v.reaped)
      return [...WORKSPACE_FIELDS.map(([name, kind]) => CONVERT[kind as keyof typeof CONVERT](v[name])), text(reaped.reason), text(reaped.evidence), time(reaped.at)]
    }
  }
}

export interface TimeRange {
  since?: Date
  until?: Date
}

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`

/** The SQL condition for a range; toISOString's fixed alphabet is what makes the literal safe to inline (COPY takes no parameters). */
function rangeSql (column: string, { since, until }: TimeRange): string {
  const parts = ['true']
  if (since !== undefined) parts.push(`${column} >= TIMESTAMPTZ '${since.toISOString()}'`)
  if (until !== undefined) parts.push(`${column} < TIMESTAMPTZ '${until.toISOString()}'`)
  return parts.join(' AND ')
}

/** A cell as JSON: JSON columns as they are, times in RFC 3339 UTC. */
function cellJson (kind: Kind | undefined, v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (kind === 'json') return v as string
  if (v instanceof Date) return JSON.stringify(v.toISOString())
  return JSON.stringify(typeof v === 'bigint' ? Number(v) : v)
}

function ndjsonLine (names: readonly string[], kinds: ReadonlyArray<Kind | undefined>, cells: readonly unknown[]): string {
  return '{' + names.map((n, i) => `${JSON.stringify(n)}:${cellJson(kinds[i], cells[i])}`).join(',') + '}\n'
}

function append (appender: DuckDBAppender, kind: Kind, v: Cell): void {
  if (v === null) appender.appendNull()
  else if (kind === 'integer') appender.appendInteger(v as number)
  else if (kind === 'bigint') appender.appendBigInt(BigInt(v as number))
  else if (kind === 'timestamptz') appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt((v as Date).getTime()) * 1000n))
  else appender.appendVarchar(v as string)
}

/** What one export run needs besides the connection: where it writes, and when it must stop. */
interface Run {
  conn: DuckDBConnection
  format: ExportFormat
  range: TimeRange
  file: string
  /** Throws once the free space fell under the reserve. */
  checkRoom: () => Promise<void>
  /** Detaches and removes the store's copy: once the rows are read, its space is the file's. */
  dropSnapshot: () => Promise<void>
}

/** The upper keys of batches of about EXPORT_BATCH_BYTES of stored JSON each, in key order. */
async function batchBounds (conn: DuckDBConnection, source: EntriesSource, where: string): Promise<string[]> {
  const rows = (await conn.runAndReadAll(`SELECT max(key) FROM (
      SELECT key, sum(length(value)) OVER (ORDER BY key ROWS UNBOUNDED PRECEDING) AS upto
      FROM snap.entries WHERE grp = $1 AND value IS NOT NULL AND ${where}
    ) GROUP BY upto // ${EXPORT_BATCH_BYTES} ORDER BY 1`, [source.group])).getRowsJS()
  return rows.map((r) => String(r[0]))
}

/** Every stored row of an entries dataset, a batch at a time, in key order. */
async function * batches (run: Run, source: EntriesSource): AsyncGenerator<Cell[][]> {
  const where = rangeSql('updated_at', run.range)
  let after = ''
  for (const upto of await batchBounds(run.conn, source, where)) {
    await run.checkRoom()
    const rows = (await run.conn.runAndReadAll(`SELECT key, value, updated_at FROM snap.entries
      WHERE grp = $1 AND value IS NOT NULL AND ${where} AND key > $2 AND key <= $3 ORDER BY key`, [source.group, after, upto])).getRowsJS()
    yield rows.map(([key, value, at]) => source.cells(String(key), object(JSON.parse(String(value))), at as Date))
    after = upto
  }
}

async function exportEntries (run: Run, source: EntriesSource): Promise<void> {
  const names = source.columns.map(([n]) => n)
  const kinds = source.columns.map(([, k]) => k)
  if (run.format === 'ndjson') {
    const out = await open(run.file, 'wx')
    try {
      for await (const rows of batches(run, source)) await out.write(rows.map((cells) => ndjsonLine(names, kinds, cells)).join(''))
    } finally {
      await out.close()
    }
    return
  }
  const { conn } = run
  await conn.run(`CREATE TABLE export_rows (${source.columns.map(([n, k]) => `"${n}" ${SQL_TYPES[k]}`).join(', ')})`)
  try {
    const appender = await conn.createAppender('export_rows')
    try {
      for await (const rows of batches(run, source)) {
        for (const cells of rows) {
          cells.forEach((v, i) => append(appender, kinds[i] as Kind, v))
          appender.endRow()
        }
        appender.flushSync()
      }
    } finally {
      appender.closeSync()
    }
    await run.dropSnapshot()
    await run.checkRoom()
    await conn.run(`COPY export_rows TO ${sqlString(run.file)} (${EXPORT_FORMATS[run.format].options})`)
  } finally {
    await conn.run('DROP TABLE export_rows')
  }
}

async function exportRuns (run: Run): Promise<void> {
  const query = `SELECT * FROM snap.${RUN_HISTORY} WHERE ${rangeSql('ended_at', run.range)}`
  const options = EXPORT_FORMATS[run.format].options
  if (options !== null) {
    await run.conn.run(`COPY (${query}) TO ${sqlString(run.file)} (${options})`)
    return
  }
  const out = await open(run.file, 'wx')
  try {
    // Streamed a chunk (2,048 rows of a typed table) at a time.
    const result = await run.conn.stream(query)
    const names = result.columnNames()
    for await (const rows of result.yieldRowsJs()) {
      await run.checkRoom()
      await out.write(rows.map((cells) => ndjsonLine(names, [], cells)).join(''))
    }
  } finally {
    await out.close()
  }
}

export interface ExportDeps {
  lane: Lane
  analytics: Analytics
  reserve: DiskReserve
  dataDir: string
  /** Where the store's copy is put while it is read (`.core/tmp/`). */
  tmpDir: string
}

/**
 * Writes the dataset to `file` (a path the caller made under the data folder), on the analytics lane. 503
 * `disk_full` when the store's copy would leave less than the reserve free, or when the free space falls
 * under it while the export runs (it is then stopped and its files removed).
 */
export async function exportToFile (deps: ExportDeps, dataset: ExportDataset, format: ExportFormat, range: TimeRange, file: string): Promise<void> {
  await deps.lane.run(async (side, db) => {
    const copyBytes = await storeBytes(deps.dataDir)
    const room = await deps.reserve.require(copyBytes, 'an export (a copy of the store first)')
    const snapshot = join(deps.tmpDir, `snapshot-${randomUUID()}.duckdb`)
    const removeSnapshot = async (): Promise<void> => { await Promise.all([rm(snapshot, { force: true }), rm(snapshot + '.wal', { force: true })]) }
    try {
      await copyStore(side, db, deps.dataDir, snapshot)
      await deps.analytics.session(room - copyBytes, async (conn) => {
        // An interrupted statement throws; a full disk stops the work between statements too.
        const watch = deps.reserve.watch(() => conn.interrupt())
        let attached = false
        const dropSnapshot = async (): Promise<void> => {
          if (attached) await conn.run('DETACH snap')
          attached = false
          await removeSnapshot()
        }
        const checkRoom = async (): Promise<void> => {
          if (watch.low || await deps.reserve.low()) throw diskFull('the free space fell under DISK_RESERVE_BYTES while the export ran: it was stopped and its file removed')
        }
        try {
          await conn.run(`ATTACH ${sqlString(snapshot)} AS snap (READ_ONLY)`)
          attached = true
          const run: Run = { conn, format, range, file, checkRoom, dropSnapshot }
          if (dataset === 'runs') await exportRuns(run)
          else await exportEntries(run, ENTRIES[dataset])
          // The finished file holds its space until it is streamed: it too must leave the reserve free.
          await checkRoom()
        } catch (err) {
          await checkRoom()
          throw err
        } finally {
          watch.stop()
          await dropSnapshot()
        }
      })
    } catch (err) {
      await rm(file, { force: true })
      throw orDiskFull(err, 'the export')
    } finally {
      await removeSnapshot()
    }
  })
}
