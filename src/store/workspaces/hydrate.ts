/** Start-up hydration from the store: the registry and the queue come back into memory (API §8.1). */
import type { Workspace } from './model.js'
import type { Database } from '../core/database.js'
import { EVENT_GROUP } from '../events/events.js'
import { POOL_GROUPS } from '../pools/pools.js'
import { toEntry, toScalarNumber, type Entry } from '../core/rows.js'
import { QUEUE_GROUP, REGISTRY_GROUP, Tracked, type QueueEntry, type Workspaces } from './workspaces.js'

function byGroup (rows: unknown[][]): Map<string, Entry[]> {
  const groups = new Map<string, Entry[]>()
  for (const row of rows) {
    const e = toEntry(row)
    const list = groups.get(e.grp)
    if (list === undefined) groups.set(e.grp, [e])
    else list.push(e)
  }
  return groups
}

/**
 * What start-up hydration needs from the store: the registry, read as one column of stored JSON and
 * kept as Tracked records (that JSON is reused, not re-encoded; at 100,000 workspaces this halves the
 * read), the queue and pool groups, and the highest event id. The sync queue and the journal read their
 * own groups in their own steps, so nothing is read twice.
 */
export async function readEntries (db: Database): Promise<{ registry: Tracked[], groups: Map<string, Entry[]>, lastEventId: number }> {
  const registry = (await db.column('SELECT value FROM entries WHERE grp = $1 AND value IS NOT NULL', [REGISTRY_GROUP]))
    .map((json) => new Tracked(JSON.parse(String(json)) as Workspace, String(json)))
  const groups = await readGroups(db, [QUEUE_GROUP, ...POOL_GROUPS])
  const lastEventId = toScalarNumber(await db.rows('SELECT max(key) FROM entries WHERE grp = $1', [EVENT_GROUP]))
  return { registry, groups, lastEventId }
}

/** The live entries of the named groups only, in key order: for a plugin that hydrates its own groups in its own onReady step. */
export async function readGroups (db: Database, names: readonly string[]): Promise<Map<string, Entry[]>> {
  const marks = names.map((_, i) => `$${i + 1}`).join(', ')
  return byGroup(await db.rows(`SELECT grp, key, value, updated_at FROM entries WHERE value IS NOT NULL AND grp IN (${marks}) ORDER BY grp, key`, [...names]))
}

export interface HydrateCounts {
  registry: number
  queueOnly: number
}

/**
 * Loads the registry; a queue entry whose workspace the registry lacks comes back as a `queued`
 * record, as the Go agent's restoreQueueSnapshot did.
 */
export function hydrateWorkspaces (workspaces: Workspaces, registry: Tracked[], groups: Map<string, Entry[]>): HydrateCounts {
  const records = new Map<string, Workspace | Tracked>()
  for (const t of registry) records.set(t.record.name, t)
  let queueOnly = 0
  for (const e of groups.get(QUEUE_GROUP) ?? []) {
    if (records.has(e.key)) continue
    const q = JSON.parse(e.value as string) as QueueEntry
    const [org, repo, leaf] = q.name.split('/') as [string, string, string]
    records.set(q.name, {
      name: q.name,
      org,
      repo,
      leaf,
      status: 'queued',
      agent: q.agent,
      pool: q.pool,
      runs: 0,
      task: q.task,
      branch: q.branch,
      priority: q.priority,
      started_at: q.queued_at,
      queued_at: q.queued_at,
      updated_at: q.queued_at
    })
    queueOnly++
  }
  workspaces.load(records.values())
  return { registry: records.size - queueOnly, queueOnly }
}

/**
 * Status files win over the store where they disagree (the Go agent's rule), except that a file from an
 * earlier run never overrides a later one: `runs` fences files exactly as it fences reports.
 * Returns how many records the files changed or added.
 */
export function applyStatusFiles (workspaces: Workspaces, records: Workspace[]): number {
  let applied = 0
  for (const record of records) {
    const stored = workspaces.get(record.name)
    if (stored !== undefined && (record.runs < stored.record.runs || JSON.stringify(record) === stored.json)) continue
    workspaces.put(record, null)
    applied++
  }
  return applied
}

/**
 * Brings back what the store holds after it reopens late (a degraded start): records already in memory
 * were written since and win; the rest are loaded without being written back.
 */
export function mergeLateStore (workspaces: Workspaces, registry: Tracked[], groups: Map<string, Entry[]>): number {
  const missing = new Map<string, Entry[]>()
  for (const [grp, entries] of groups) missing.set(grp, entries.filter((e) => workspaces.get(e.key) === undefined))
  return hydrateWorkspaces(workspaces, registry.filter((t) => workspaces.get(t.record.name) === undefined), missing).registry
}
