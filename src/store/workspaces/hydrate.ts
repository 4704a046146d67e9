/** Start-up hydration from the store: the registry and the queue come back into memory (API §8.1). */
import type { Workspace } from './model.js'
import type { Database } from '../core/database.js'
import { EVENT_GROUP } from '../events/events.js'
import { POOL_GROUPS } from '../pools/pools.js'
import { readGroupValues } from '../core/group-values.js'
import { toEntry, toScalarNumber, type Entry } from '../core/rows.js'
import { LEGACY_DELETED_GROUP, STAMP_GROUP } from './stamps.js'
import type { ScannedFile } from './status-scan.js'
import { QUEUE_GROUP, REGISTRY_GROUP, Tracked, type QueueEntry, type Workspaces } from './workspaces.js'
import type { Writer } from '../core/writer.js'

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
 * What start-up hydration needs from the store: the registry, read in bulk as stored JSON and kept as
 * Tracked records (that JSON is reused, not re-encoded, and parsed only when a record is first read),
 * the queue and pool groups, and the highest event id. The sync queue and the journal read their
 * own groups in their own steps, so nothing is read twice.
 */
export async function readEntries (db: Database): Promise<{ registry: Tracked[], groups: Map<string, Entry[]>, lastEventId: number }> {
  const registry = (await readGroupValues(db, REGISTRY_GROUP)).map((json) => Tracked.stored(json))
  const groups = await readGroups(db, [STAMP_GROUP, LEGACY_DELETED_GROUP, ...POOL_GROUPS])
  // Only the queue entries whose record the registry lacks are of use (hydrateWorkspaces): the others
  // are as many rows as there are queued workspaces, read for nothing.
  groups.set(QUEUE_GROUP, byGroup(await db.rows(`SELECT grp, key, value, updated_at FROM entries q
    WHERE grp = $1 AND value IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.grp = $2 AND r.key = q.key AND r.value IS NOT NULL)
    ORDER BY key`, [QUEUE_GROUP, REGISTRY_GROUP])).get(QUEUE_GROUP) ?? [])
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
  for (const t of registry) records.set(t.name, t)
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
  workspaces.stamps.load(groups.get(STAMP_GROUP) ?? [], groups.get(LEGACY_DELETED_GROUP) ?? [])
  return { registry: records.size - queueOnly, queueOnly }
}

/**
 * A status.json adds a workspace the store does not know, and otherwise replaces what the store knows
 * only with evidence the store has never seen (API §8.1): a `runs` higher than any it acknowledged for
 * the name, or a date later than any acknowledged change to the name (its record, or its stamp across
 * deletions and re-creations: stamps.ts). A file without `updated_at`, or dated later than start-up's
 * clock, proves nothing by its date. A file that wins must also pass the fences a report would (a run
 * that was reaped stays reaped). Each file is a change of its own, named by its path should the store
 * refuse it. Returns how many records the files changed or added.
 */
export function applyStatusFiles (workspaces: Workspaces, writer: Writer, files: readonly ScannedFile[], present: ReadonlySet<string>, now: string): number {
  let applied = 0
  for (const { record, path, claimed } of files) {
    const tracked = workspaces.get(record.name)
    // A file that says what the store says changes nothing (the state after a clean stop): compared as
    // text first, so the stored record need not be parsed.
    if (tracked !== undefined && JSON.stringify(record) === tracked.json) continue
    const stored = tracked?.record
    const dated = claimed !== undefined && claimed <= now
    if (claimed !== undefined && !dated) workspaces.stamps.raise(record.name, stored, claimed, now)
    const known = workspaces.stamps.known(record.name, stored)
    const news = known === undefined || record.runs > known.runs || (dated && Date.parse(record.updated_at) > Date.parse(known.at))
    if (news && (stored === undefined || !workspaces.fences(stored, record))) {
      workspaces.put(record, null)
      applied++
    }
    writer.seal(`file ${path}`)
  }
  workspaces.stamps.keepOnly(present, now)
  return applied
}
