/** The shapes of the service's answers the pages read (see /openapi.json for the full ones). */

// Where the service has a type for an answer, the page uses it, so the two cannot drift apart. Type-only:
// nothing of the server ends up in the bundle.
export type { PoolView as Pool } from '../../src/store/pools/pools.js'
export type { FinishedHour } from '../../src/store/events/activity.js'

export interface Status {
  total: number
  by_status: Record<string, number>
  /** The most recently updated blocked workspaces, newest first: at most 50 of `blocked_total`. */
  blocked: Array<{ name: string, repo: string, agent: string, question?: string, updated_at: string }>
  blocked_total: number
}

export interface Workspace {
  name: string
  status: string
  agent: string
  pool: string
  runs: number
  priority: number
  task: string
  question?: string
  host?: string
  pid?: number
  started_at: string
  queued_at?: string
  updated_at: string
  heartbeat_at?: string
  reaped?: { reason: string, evidence: string, at: string }
  [field: string]: unknown
}

export interface QueueItem {
  workspace: Workspace
  admissible: boolean
  reasons: string[]
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export interface SyncStatus {
  queued: number
  dead: number
  last_push_at: string | null
  last_error: string | null
  upstream_configured: boolean
}

export interface SyncItem {
  id: string
  agent_id: string
  queued_at: string
  attempts: number
  next_attempt_at: string | null
  last_error: string | null
}

export interface Readiness {
  store: 'ok' | 'degraded'
  error?: string
  config_error?: string
}

export interface Recovery {
  started_at: string
  finished_at: string | null
  store: { mode: string, error?: string }
  hydrated: { from_store: number, from_queue: number, files_read: number, from_files: number, files_invalid: Array<{ path: string, error: string }> }
  reaped: Array<{ name: string, reason: string, evidence: string, at: string }>
  orphans: { skipped: string | null, outcomes: Array<{ file: string, outcome: string, detail?: string }> }
  timings_ms: Record<string, number>
}

export interface PoolSeries {
  times: string[]
  step_s: number
  pools: Record<string, number[]>
}

export interface JournalRow {
  id: number
  measurement: string
  tags: { workspace: string }
  fields: { aggregate: Record<string, number>, findings: Array<Record<string, unknown>> }
  committed_at: string
}

export interface JournalDiff {
  workspace: string
  cycles: Array<{ id: number, measurement: string, committed_at: string }>
  new: Array<Record<string, unknown>>
  resolved: Array<Record<string, unknown>>
  persistent: Array<Record<string, unknown>>
}

export const STATUSES = ['queued', 'running', 'completed', 'failed', 'blocked', 'merged', 'ready-for-review', 'rejected']
export const EVENT_TYPES = ['workspace', 'pool', 'backoff', 'config', 'sync', 'buffer', 'recovery']
