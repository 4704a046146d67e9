/**
 * The fold: moves logged commits into DuckDB in bulk, off the request path. One transaction per fold (a
 * large backlog is split at commit boundaries): every entry's latest value in one upsert and its deletions
 * in one delete, whatever the number of keys; each append-only table's rows in one insert; and the last
 * folded commit in `log_state`, so DuckDB holds exactly the commits up to that number, durably, once the
 * transaction commits. A fold reads that number first and skips what DuckDB has already, so folding a
 * commit twice (a fold whose answer was lost, a replay after a crash mid-fold) changes nothing.
 *
 * When DuckDB refuses a fold for a value it cannot hold, dry runs (rolled back) in halves find the change
 * that carries it; that change is left out and reported, and the rest is folded. Validation before the
 * log is the first defence; this keeps one bad change from holding every later one back for good.
 */
import { LIST, VARCHAR, listValue, type DuckDBType } from '@duckdb/node-api'
import { appendStatements } from './appends.js'
import { isRefusedValue, type Database, type Run } from './database.js'
import type { Entry } from './rows.js'
import { toScalarNumber } from './rows.js'
import type { LoggedChange } from '../log/codec.js'

/** A commit as the fold takes it: its number and its changes, in order. */
export interface FoldCommit {
  commit: number
  changes: readonly LoggedChange[]
}

/** A change the store refused: left out of the fold, for the caller to log and report. */
export interface Refusal {
  commit: number
  change: LoggedChange
  error: Error
}

/** Test seams for crash tests. */
export interface FoldHooks {
  /** Inside the fold's transaction, after every statement but the commit. */
  beforeFoldCommit?: () => void
}

// A backlog (a replay, a fold held back by a degraded store) is folded this many rows per transaction at
// most, so no transaction's lists outgrow DuckDB's memory limit.
const CHUNK_ROWS = 50_000

const VARCHAR_LIST: DuckDBType = LIST(VARCHAR)
const UPSERT = `INSERT OR REPLACE INTO entries (grp, key, value, updated_at)
  SELECT unnest($1), unnest($2), unnest($3), unnest($4)::TIMESTAMPTZ`
const DELETE = `DELETE FROM entries USING (SELECT unnest($1) AS grp, unnest($2) AS key) AS gone
  WHERE entries.grp = gone.grp AND entries.key = gone.key`

const rowsOf = (c: LoggedChange): number => c.entries.length + c.appends.length

/** Applies `changes` in order: the latest value of each key, then each table's appends. */
async function applyChanges (run: Run, changes: readonly LoggedChange[]): Promise<void> {
  const latest = new Map<string, Entry>()
  for (const c of changes) for (const e of c.entries) latest.set(e.grp + '\u0000' + e.key, e)
  const put: Entry[] = []
  const gone: Entry[] = []
  for (const e of latest.values()) (e.value === null ? gone : put).push(e)
  if (put.length > 0) {
    await run(UPSERT, [
      listValue(put.map((e) => e.grp)), listValue(put.map((e) => e.key)),
      listValue(put.map((e) => e.value)), listValue(put.map((e) => e.updatedAt))
    ], [VARCHAR_LIST, VARCHAR_LIST, VARCHAR_LIST, VARCHAR_LIST])
  }
  if (gone.length > 0) {
    await run(DELETE, [listValue(gone.map((e) => e.grp)), listValue(gone.map((e) => e.key))], [VARCHAR_LIST, VARCHAR_LIST])
  }
  for (const s of appendStatements(changes.flatMap((c) => c.appends))) await run(s.sql, s.values, s.types)
}

/** The last commit DuckDB holds. */
export async function foldedCommit (db: Database): Promise<number> {
  return toScalarNumber(await db.rows('SELECT folded_commit FROM log_state'))
}

/**
 * Folds `commits` (in order) into the store; returns the last folded commit. A store failure (anything
 * but a refused value) is thrown: nothing of the failed transaction is stored, and the commits stay in the
 * log to fold again.
 */
export async function foldCommits (db: Database, commits: readonly FoldCommit[], onRefused: (r: Refusal) => void, hooks: FoldHooks = {}): Promise<number> {
  let folded = -1
  for (const chunk of chunks(commits)) folded = await foldChunk(db, chunk, onRefused, hooks)
  return folded < 0 ? await foldedCommit(db) : folded
}

function * chunks (commits: readonly FoldCommit[]): Generator<FoldCommit[]> {
  let chunk: FoldCommit[] = []
  let rows = 0
  for (const c of commits) {
    chunk.push(c)
    for (const change of c.changes) rows += rowsOf(change)
    if (rows >= CHUNK_ROWS) {
      yield chunk
      chunk = []
      rows = 0
    }
  }
  if (chunk.length > 0) yield chunk
}

async function foldChunk (db: Database, commits: readonly FoldCommit[], onRefused: (r: Refusal) => void, hooks: FoldHooks): Promise<number> {
  const left = new Set<LoggedChange>()
  const last = (commits[commits.length - 1] as FoldCommit).commit
  for (;;) {
    try {
      return await db.transaction(async (run, rows) => {
        const done = toScalarNumber(await rows('SELECT folded_commit FROM log_state'))
        if (last <= done) return done
        const changes = commits.filter((c) => c.commit > done).flatMap((c) => c.changes).filter((c) => !left.has(c))
        await applyChanges(run, changes)
        hooks.beforeFoldCommit?.()
        await run('UPDATE log_state SET folded_commit = $1', [BigInt(last)])
        return last
      })
    } catch (err) {
      if (!isRefusedValue(err)) throw err
      const candidates = commits.flatMap((c) => c.changes.filter((change) => !left.has(change)).map((change) => ({ commit: c.commit, change })))
      const refused = await findRefused(db, candidates)
      // DuckDB refused the whole but no part alone: it cannot be isolated, so it is a store failure.
      if (refused.length === 0) throw err
      for (const r of refused) {
        left.add(r.change)
        onRefused(r)
      }
    }
  }
}

/** The changes that DuckDB refuses on their own, found by dry runs over halves. */
async function findRefused (db: Database, candidates: ReadonlyArray<{ commit: number, change: LoggedChange }>): Promise<Refusal[]> {
  try {
    await db.dryRun((run) => applyChanges(run, candidates.map((c) => c.change)))
    return []
  } catch (err) {
    if (!isRefusedValue(err)) throw err
    if (candidates.length === 1) return [{ ...(candidates[0] as { commit: number, change: LoggedChange }), error: err as Error }]
    const half = Math.ceil(candidates.length / 2)
    return [...await findRefused(db, candidates.slice(0, half)), ...await findRefused(db, candidates.slice(half))]
  }
}
