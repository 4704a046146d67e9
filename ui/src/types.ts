/**
 * The shapes of the service's answers, taken from the types generated from its OpenAPI document
 * (`src/client/api-types.ts`, `npm run openapi`), so the page and the service cannot drift apart. Type-only:
 * nothing of it ends up in the bundle.
 */
import type { components, paths } from '../../src/client/api-types.js'

type Schemas = components['schemas']
/** What a GET of `P` answers with 200, as JSON. */
type Json<P extends keyof paths> = paths[P]['get'] extends { responses: { 200: { content: { 'application/json': infer T } } } } ? T : never

export type Problem = Schemas['Problem']
export type Workspace = Schemas['Workspace']
export type WorkspaceStatus = Schemas['WorkspaceStatus']
export type WorkspacePage = Schemas['WorkspacePage']
export type Status = Schemas['StatusSummary']
export type Pool = Schemas['Pool']
export type PoolList = Schemas['PoolList']
export type QueuePage = Schemas['QueuePage']
export type SyncItem = Schemas['SyncItem']
export type SyncItemPage = Schemas['SyncItemPage']
export type SyncStatus = Schemas['SyncStatus']
export type Recovery = Schemas['Recovery']
export type JournalPage = Schemas['JournalPage']
export type JournalDiff = Schemas['JournalDiff']
export type Readiness = Json<'/readyz'>
export type Whoami = Json<'/v1/whoami'>
export type EventPage = Json<'/v1/events/log'>
/** One event, as the log and the stream carry it. */
export type ChangeEvent = EventPage['items'][number]
export type PoolSeries = Json<'/v1/stats/pools'>
export type RunStats = Json<'/v1/stats/runs'>
export type ReapAnswer = paths['/v1/reap']['post']['responses'][200]['content']['application/json']

// A record over the status type, so a status the API gains and this list lacks fails the type-check.
const STATUS_ORDER: Record<WorkspaceStatus, null> = { queued: null, running: null, completed: null, failed: null, blocked: null, merged: null, 'ready-for-review': null, rejected: null }
export const STATUSES = Object.keys(STATUS_ORDER) as WorkspaceStatus[]
// The types `GET /v1/events/log?type=` accepts (the API lists them in the parameter's description only).
export const EVENT_TYPES = ['workspace', 'pool', 'backoff', 'config', 'sync', 'buffer', 'recovery']
