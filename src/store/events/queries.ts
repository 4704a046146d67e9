/**
 * Reads over the stored event log for people rather than for replay: a filtered page of events (newest
 * first), and the workspace events the charts start from (activity.ts). Both run on a side connection of
 * the reads lane, never on the writer's.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { PageBudget } from '../core/page-budget.js'
import type { WorkspaceChange } from './activity.js'
import { EVENT_GROUP, eventKey } from './events.js'
import type { ChangeEvent, EventType } from './model.js'

export interface EventFilter {
  types: readonly EventType[] | null
  subject: string | null
  /** Only events with a key below this one (the cursor of the previous page). */
  beforeKey: string | null
  limit: number
  /** Bytes of events a page holds at most (at least one event). */
  maxBytes: number
}

/** A page of stored events, newest first, and the key to continue below (null on the last page). */
export async function readEventPage (conn: DuckDBConnection, f: EventFilter): Promise<{ items: ChangeEvent[], nextKey: string | null }> {
  const where = ['grp = $1', 'value IS NOT NULL']
  const values: string[] = [EVENT_GROUP]
  const param = (v: string): string => { values.push(v); return `$${values.length}` }
  if (f.types !== null) where.push(`json_extract_string(value, '$.type') IN (${f.types.map(param).join(', ')})`)
  if (f.subject !== null) where.push(`json_extract_string(value, '$.subject') = ${param(f.subject)}`)
  if (f.beforeKey !== null) where.push(`key < ${param(f.beforeKey)}`)
  // One row more than asked says whether another page follows.
  const rows = (await conn.runAndReadAll(`SELECT key, value FROM entries WHERE ${where.join(' AND ')} ORDER BY key DESC LIMIT ${f.limit + 1}`, values)).getRowsJS()
  const page = new PageBudget<readonly unknown[]>(f.limit, f.maxBytes, (r) => Buffer.byteLength(String(r[1])))
  let more = false
  for (const r of rows) if (!page.offer(r)) { more = true; break }
  const last = page.items[page.items.length - 1]
  return { items: page.items.map((r) => JSON.parse(String(r[1])) as ChangeEvent), nextKey: more && last !== undefined ? String(last[0]) : null }
}

// Workspace events, a batch at a time in key order: keys grow with the ids, so each batch reads only the
// row groups past the previous one. One JSON parse per row gives every field the charts need.
const WORKSPACE_EVENTS = `SELECT key, json_extract_string(value, ['$.subject', '$.at', '$.data.action', '$.data.status', '$.data.agent'])
  FROM entries
  WHERE grp = '${EVENT_GROUP}' AND value IS NOT NULL AND key > $1 AND key < $2 AND json_extract_string(value, '$.type') = 'workspace'
  ORDER BY key LIMIT $3`
const BATCH = 10_000

/** Every stored workspace event with an id below `beforeId` (all when null), oldest first, as changes. */
export async function readWorkspaceChanges (conn: DuckDBConnection, beforeId: number | null): Promise<WorkspaceChange[]> {
  const out: WorkspaceChange[] = []
  const before = beforeId === null ? '~' : eventKey(beforeId)
  for (let after = ''; ;) {
    const rows = (await conn.runAndReadAll(WORKSPACE_EVENTS, [after, before, BATCH])).getRowsJS()
    for (const [key, fields] of rows) {
      const [subject, at, action, status, agent] = fields as Array<string | null>
      out.push({ id: Number(key), subject: String(subject), at: Date.parse(String(at)), action: String(action), status: String(status), pool: agent == null ? null : agent.split(':')[0] as string })
    }
    if (rows.length < BATCH) return out
    after = String(rows[rows.length - 1]?.[0])
  }
}
