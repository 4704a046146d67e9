/**
 * The answers of the workspace and queue reads, and of a heartbeat, built in one place for every protocol
 * that serves them: the REST routes and the MCP tools call these, so a default or a shape cannot differ.
 */
import { notFound } from '../core/errors.js'
import type { WorkspaceParams } from './model.js'
import { encodeQueueCursor, type Queue, type QueueItem } from './queue.js'
import type { Tracked, Workspaces } from './workspaces.js'

/** How many blocked workspaces a summary lists: one answer stays small however many are blocked. */
export const BLOCKED_SHOWN = 50
/** Where the summary's reader finds every blocked workspace, paged. */
export const BLOCKED_LIST = '/v1/workspaces?status=blocked'
/** The page size of a list read that names none. */
export const DEFAULT_PAGE = 100

/** `GET /v1/status`: counts by status (kept as records change) and the most recently blocked workspaces. */
export function statusSummary (workspaces: Workspaces) {
  const counts = workspaces.counts()
  const blocked = workspaces.recentlyBlocked(BLOCKED_SHOWN)
    .map((w) => ({ name: w.name, repo: w.repo, agent: w.agent, question: w.question ?? '', updated_at: w.updated_at }))
  return { ...counts, blocked, blocked_total: counts.by_status.blocked ?? 0, blocked_list: BLOCKED_LIST }
}

/** One workspace, or 404 `not_found`. */
export function workspaceOf (workspaces: Workspaces, { org, repo, leaf }: WorkspaceParams): Tracked {
  const tracked = workspaces.get(`${org}/${repo}/${leaf}`)
  if (tracked === undefined) throw notFound(`workspace ${org}/${repo}/${leaf}`)
  return tracked
}

/** A page of the queue in drain order; the cursor is the drain position of the page's last item. */
export function queuePage (queue: Queue, limit: number | undefined, cursor: string | undefined): { items: QueueItem[], next_cursor: string | null } {
  const { items, more } = queue.page(queue.position(cursor), limit ?? DEFAULT_PAGE)
  return { items, next_cursor: more ? encodeQueueCursor((items[items.length - 1] as QueueItem).workspace) : null }
}

/** A heartbeat (API §3) and its answer: the renewed stamp and when the lease runs out (null when leases are off). */
export function heartbeat (workspaces: Workspaces, leaseS: number, params: WorkspaceParams, runs: number | undefined) {
  const { tracked, store } = workspaces.heartbeat(params, runs)
  const { name, runs: run, heartbeat_at: at } = tracked.record
  const answer = {
    name,
    status: 'running' as const,
    runs: run,
    heartbeat_at: at as string,
    lease_expires_at: leaseS > 0 ? new Date(Date.parse(at as string) + leaseS * 1000).toISOString() : null
  }
  return { answer, store }
}
