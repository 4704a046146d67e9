/** What an event is: its types and the data each type carries, shared by the log, the stream, the store and the metrics. */
import { Type } from 'typebox'
import { DateTime } from '../core/schema.js'
import type { OrphanOutcome, ReapedGhost } from '../startup/report.js'
import type { Status } from '../workspaces/model.js'

/**
 * Every event type a client may ask for: `GET /v1/events?type=` is validated against this list. `pool` and
 * `recovery` are in the contract's list but nothing records them yet, so they have no data below.
 */
export const EVENT_TYPES = ['workspace', 'pool', 'backoff', 'config', 'sync', 'buffer', 'recovery'] as const
export type EventType = typeof EVENT_TYPES[number]

interface WorkspaceFields {
  status: Status
  runs: number
  agent: string
}

/** The data each recorded type carries, by its `action`; record() accepts nothing else. */
export interface EventDataByType {
  workspace:
    | WorkspaceFields & { action: 'created' | 'claimed' }
    // `overrules`: the run's own outcome arrived after the reaper failed it, and replaced this verdict.
    | WorkspaceFields & { action: 'updated', overrules?: Pick<ReapedGhost, 'reason' | 'evidence' | 'at'> }
    // `at_startup`: the start-up pass found the process gone; it ended while the service was down.
    | WorkspaceFields & { action: 'reaped', reason: ReapedGhost['reason'], at_startup?: true }
    | { action: 'deleted', status: Status }
  backoff:
    | { action: 'set' | 'auto', until: string, reason: string, by: string }
    | { action: 'cleared', by: string }
    // An automatic backoff whose row of fast failures a reaped run's own outcome broke.
    | { action: 'lifted', reason: string, by: 'auto' }
  config: { origin: 'file' | 'api', by: string }
  sync:
    | { action: 'queued', agent_id: string, dispatches: number, by: string }
    | { action: 'delivered', attempts: number }
    | { action: 'retry' | 'dead', attempts: number, error: string, next_attempt_at: string | null }
    | { action: 'replayed', previous_error: string | null, by: string }
    | { action: 'dropped', from: 'queue' | 'dead', by: string }
  buffer:
    | { action: 'created', workspace: string }
    | { action: 'committed', workspace: string, journal_id: number, aggregate: Record<string, number> }
    // The store refused the commit's statement: the `committed` event of that journal_id never reached the store.
    | { action: 'commit_failed', workspace: string, journal_id: number }
    | { action: 'discarded', workspace: string, aggregate: Record<string, number> }
    | { action: 'recovered', outcome: OrphanOutcome['outcome'], detail: string | undefined }
}
export type RecordedType = keyof EventDataByType

/** One change as stored and streamed; `type` tells which data it carries. */
export type ChangeEvent = {
  [T in RecordedType]: {
    /** Only grows, across restarts. */
    id: number
    type: T
    subject: string
    at: string
    data: EventDataByType[T]
  }
}[RecordedType]

/** An event as a JSON answer carries it (the stored log's page): `data` by type, as above. */
export const ChangeEventSchema = Type.Object({
  id: Type.Integer({ description: 'The event id; it only grows, across restarts.' }),
  type: Type.Enum(EVENT_TYPES),
  subject: Type.String({ description: 'What changed: a workspace name, a pool, a sync item id, a buffer name.' }),
  at: DateTime(),
  data: Type.Unknown({ description: 'What the change was, by type (for a workspace: `action`, `status`, `runs`, `agent`).' })
})
