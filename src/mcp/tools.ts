/**
 * The MCP tools (API §14), one definition each: the REST operation it mirrors and that operation's scope, its
 * input and output schemas (the route's own TypeBox schemas, so validation and documentation cannot drift), a
 * description written for a model, the store call the REST route makes, and a short text rendering.
 * Nothing here decides a rule: every call goes to the function the route calls.
 */
import { Type, type Static, type TObject } from 'typebox'
import type { Scope } from '../shared/scopes.js'
import { fieldRows, renderTables } from '../shared/text-table.js'
import { HeartbeatAnswer, HeartbeatBody, ListWorkspacesQuery, WorkspacePage, workspaceTable } from '../routes/workspaces.js'
import { PoolList, PoolParams, poolTable } from '../routes/pools.js'
import { PoolViewSchema } from '../store/pools/model.js'
import { ClaimBody, QueuePage, queueTable } from '../routes/queue.js'
import { ListQuery } from '../routes/schemas.js'
import { StatsQuery, statsTable } from '../routes/stats.js'
import { RunStatsAnswerSchema } from '../store/history/model.js'
import { StatusSummarySchema, statusTable } from '../routes/status.js'
import type { Lane } from '../store/history/lane.js'
import { statsAnswer } from '../store/history/stats-answer.js'
import { poolList } from '../store/pools/answers.js'
import type { Pools } from '../store/pools/pools.js'
import { DEFAULT_PAGE, heartbeat, queuePage, statusSummary, workspaceOf } from '../store/workspaces/answers.js'
import { MAX_CLAIM_WAIT_S } from '../shared/claims.js'
import { claimWork, type ClaimWaits } from '../store/workspaces/claim-waits.js'
import { NAME_PATTERN, WorkspaceReportSchema, WorkspaceSchema, type WorkspaceParams } from '../store/workspaces/model.js'
import type { Queue } from '../store/workspaces/queue.js'
import type { Workspaces } from '../store/workspaces/workspaces.js'

/** The store objects the tools call, as the REST routes reach them. */
export interface ToolDeps {
  workspaces: Workspaces
  pools: Pools
  queue: Queue
  claimWaits: ClaimWaits
  /** The lease, for a heartbeat's answer. */
  leaseS: number
  lane: Lane
  clock: () => Date
}

/** Who calls, and until when the call is wanted. */
export interface CallContext {
  /** For the audit trail: the token's fingerprint, as REST records it. */
  caller: string
  /** Aborts when the client cancels the call or its HTTP request goes away. */
  signal: AbortSignal
}

export interface Tool<I extends TObject = TObject, O extends TObject = TObject> {
  name: string
  title: string
  /** The REST operation this tool is: its method decides whether the store must take writes, its operationId names it. */
  mirrors: { method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, operationId: string }
  /** The scope of that operation (a test holds it to the route's). */
  scope: Scope
  description: string
  input: I
  output: O
  /** Arguments that are names in the REST path: a bad one is `invalid_name` there, so it is here. */
  names: string[]
  annotations: { readOnlyHint: boolean, destructiveHint?: boolean, idempotentHint?: boolean, openWorldHint: false }
  call: (args: Static<I>, ctx: CallContext) => Static<O> | Promise<Static<O>>
  text: (result: Static<O>) => string
}

/** Erases a tool's own types for the table (each definition is checked against them first). */
const tool = <I extends TObject, O extends TObject>(def: Tool<I, O>): Tool => def as unknown as Tool

const SEGMENT = NAME_PATTERN.slice(1, -1)
/** A workspace as one argument, `org/repo/leaf`, each segment what the REST path takes. */
const WorkspaceName = Type.String({ pattern: `^${SEGMENT}/${SEGMENT}/${SEGMENT}$`, description: 'The workspace, `org/repo/leaf`, e.g. `core/go-io/task-5`.' })
const workspaceParams = (name: string): WorkspaceParams => {
  const [org, repo, leaf] = name.split('/') as [string, string, string]
  return { org, repo, leaf }
}

const NoArguments = Type.Object({}, { additionalProperties: false })
const READ = { readOnlyHint: true, openWorldHint: false } as const
const FORBIDDEN = '`forbidden`: the token lacks the scope this tool needs.'
const PAGED = 'Answers a page of at most `limit` items (default 100); while `next_cursor` is not null, call again with `cursor` set to it for the next page.'

const recordTable = (w: Static<typeof WorkspaceSchema>) => renderTables(workspaceTable({ items: [w], next_cursor: null }))

/** The ten tools, in the order a client lists them. */
export function buildTools (deps: ToolDeps): Tool[] {
  const { workspaces, pools, queue, claimWaits, lane, clock } = deps
  return [
    tool({
      name: 'get_status',
      title: 'Fleet status',
      mirrors: { method: 'GET', path: '/v1/status', operationId: 'getStatus' },
      scope: 'read',
      description: 'How many workspaces are tracked, by status, and the most recently blocked ones with the question each is blocked on. Call it first for an overview of the fleet, or to find work that waits for an answer.',
      input: NoArguments,
      output: StatusSummarySchema,
      names: [],
      annotations: READ,
      // counts() holds every status, zeros included: the schema's fixed keys.
      call: () => statusSummary(workspaces) as Static<typeof StatusSummarySchema>,
      text: (s) => renderTables(statusTable(s))
    }),
    tool({
      name: 'list_workspaces',
      title: 'List workspaces',
      mirrors: { method: 'GET', path: '/v1/workspaces', operationId: 'listWorkspaces' },
      scope: 'read',
      description: `Tracked workspaces in name order, filtered by \`status\`, \`pool\` (the agent base, e.g. \`codex\`), \`agent\` (e.g. \`codex:gpt-5.4\`), \`org\` or \`repo\`. ${PAGED} A filtered page may hold fewer items than \`limit\`, even none, and still have a cursor.`,
      input: Type.Omit(ListWorkspacesQuery, ['format'], { additionalProperties: false }),
      output: WorkspacePage,
      names: [],
      annotations: READ,
      call: ({ limit, cursor, ...filter }) => JSON.parse(workspaces.page(filter, limit ?? DEFAULT_PAGE, cursor)) as Static<typeof WorkspacePage>,
      text: (page) => renderTables(workspaceTable(page))
    }),
    tool({
      name: 'get_workspace',
      title: 'Read a workspace',
      mirrors: { method: 'GET', path: '/v1/workspaces/{org}/{repo}/{leaf}', operationId: 'getWorkspace' },
      scope: 'read',
      description: 'One workspace\'s whole record: status, agent, run number (`runs`), task, question, branch, pull request, last heartbeat and, when the reaper failed it, why (`reaped`). Errors: `not_found`: nothing is tracked under that name; `invalid_name`: a segment is not a valid name. The same record is the resource agent-state://workspaces/{org}/{repo}/{leaf}.',
      input: Type.Object({ workspace: WorkspaceName }, { additionalProperties: false }),
      output: WorkspaceSchema,
      names: ['workspace'],
      annotations: READ,
      call: ({ workspace }) => workspaceOf(workspaces, workspaceParams(workspace)).record,
      text: (w) => renderTables([fieldRows(w)])
    }),
    tool({
      name: 'report_workspace',
      title: 'Report a workspace\'s status',
      mirrors: { method: 'PUT', path: '/v1/workspaces/{org}/{repo}/{leaf}', operationId: 'reportWorkspace' },
      scope: 'write',
      description: 'Report the whole status of a workspace: `running` when you start, `blocked` with a `question` when you need an answer, and `completed`, `failed` or `ready-for-review` (with `pr_url`) when you stop. A report replaces the record, so send every field you want kept. `runs` is your run number (from claim_work, or the record): it tells your reports from those of earlier runs. The answer is the stored record, stored durably. Errors: `stale_run`: your run was superseded by a higher one, or the reaper already failed it; stop working on it. `illegal_transition`: going back to `running` from a finished status needs a higher `runs`. `store_unavailable`: nothing was stored; retry later. ' + FORBIDDEN,
      input: Type.Object({ workspace: WorkspaceName, ...WorkspaceReportSchema.properties }, { additionalProperties: false, description: 'Which workspace, and its full status report.' }),
      output: WorkspaceSchema,
      names: ['workspace'],
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      call: async ({ workspace, ...report }) => (await workspaces.report(workspaceParams(workspace), report)).tracked.record,
      text: recordTable
    }),
    tool({
      name: 'heartbeat',
      title: 'Keep a running workspace alive',
      mirrors: { method: 'POST', path: '/v1/workspaces/{org}/{repo}/{leaf}/heartbeat', operationId: 'heartbeatWorkspace' },
      scope: 'write',
      description: 'Keep your running workspace alive while you work: call it well within the lease (`lease_expires_at` in the answer; 5 minutes unless the service is configured otherwise), with your `runs`. Without it the reaper fails the workspace when the lease runs out. Errors: `not_running`: the workspace is no longer running; you were reaped (your process was found dead or your lease ran out) or the run ended. Stop, and do not report over it. `stale_run`: another run owns the workspace now. `not_found`: nothing is tracked under that name. ' + FORBIDDEN,
      input: Type.Object({ workspace: WorkspaceName, ...HeartbeatBody.properties }, { additionalProperties: false }),
      output: HeartbeatAnswer,
      names: ['workspace'],
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      call: ({ workspace, runs }) => heartbeat(workspaces, deps.leaseS, workspaceParams(workspace), runs).answer,
      text: (beat) => renderTables([fieldRows(beat)])
    }),
    tool({
      name: 'claim_work',
      title: 'Claim queued work',
      mirrors: { method: 'POST', path: '/v1/queue/claim', operationId: 'claimQueued' },
      scope: 'write',
      description: `Take the next queued workspace you may run (highest priority, then oldest, from pools under their limits, not backed off and within their daily budget) and make it yours: it becomes \`running\` with \`runs\` one higher, and the answer is its record. Work on its \`task\`; use its \`name\` and \`runs\` in heartbeat and report_workspace. Two callers never get the same workspace. \`pool\` limits the claim to one pool; \`host\` records where you run. With \`wait_s\` (at most ${MAX_CLAIM_WAIT_S}) the call waits that long for work to become available; keep it below your client's request timeout (often 60 s). An empty answer (no \`name\`) means nothing could be claimed. Errors: \`too_many_waiters\`: too many claims are waiting; retry, or claim without \`wait_s\`. ${FORBIDDEN}`,
      input: Type.Pick(ClaimBody, ['pool', 'host', 'wait_s'], { additionalProperties: false }),
      output: Type.Partial(WorkspaceSchema, { description: 'The claimed workspace, now running; an empty object when nothing could be claimed (REST answers 204).' }),
      names: [],
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      call: async (claim, { signal }) => (await claimWork(claimWaits, claim, signal))?.tracked.record ?? {},
      text: (w) => w.name === undefined ? 'nothing could be claimed: no queued workspace is admissible now (list_queue says why)\n' : recordTable(w as Static<typeof WorkspaceSchema>)
    }),
    tool({
      name: 'list_pools',
      title: 'List pools',
      mirrors: { method: 'GET', path: '/v1/pools', operationId: 'listPools' },
      scope: 'read',
      description: 'Every agent pool (the agent base: `codex`, `claude`, …): running and tracked workspaces, the limit and per-model limits, a backoff (until when and why), the fast-failure count, the daily budget, and whether a claim could take its work now (`admissible`, else `reasons`: pool_full, model_full, backoff, daily_budget). Call it to learn why queued work does not start.',
      input: NoArguments,
      output: PoolList,
      names: [],
      annotations: READ,
      call: () => poolList(pools, clock()),
      text: (list) => renderTables(poolTable(list))
    }),
    tool({
      name: 'list_queue',
      title: 'List the queue',
      mirrors: { method: 'GET', path: '/v1/queue', operationId: 'listQueue' },
      scope: 'read',
      description: `The queued workspaces in drain order (priority, then oldest first), each with \`admissible\` and, when it must wait, \`reasons\` (pool_full, model_full, backoff, daily_budget). ${PAGED} Errors: \`invalid_cursor\`: pass a \`next_cursor\` exactly as answered.`,
      input: Type.Object(ListQuery, { additionalProperties: false }),
      output: QueuePage,
      names: [],
      annotations: READ,
      call: ({ limit, cursor }) => queuePage(queue, limit, cursor),
      text: (page) => renderTables(queueTable(page))
    }),
    tool({
      name: 'clear_backoff',
      title: 'Clear a pool\'s backoff',
      mirrors: { method: 'DELETE', path: '/v1/pools/{pool}/backoff', operationId: 'clearPoolBackoff' },
      scope: 'admin',
      description: `Clear a pool's backoff and reset its fast-failure count, so its queued work can be claimed again. For operators; recorded as an event naming the caller. The answer is the pool as it now stands. ${FORBIDDEN}`,
      input: Type.Object(PoolParams.properties, { additionalProperties: false }),
      output: PoolViewSchema,
      names: ['pool'],
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      call: async ({ pool }, { caller }) => (await pools.clearBackoff(pool, caller)).view,
      text: (view) => renderTables(poolTable({ items: [view] }))
    }),
    tool({
      name: 'run_stats',
      title: 'Run statistics',
      mirrors: { method: 'GET', path: '/v1/stats/runs', operationId: 'getRunStats' },
      scope: 'read',
      description: 'Statistics of the runs that ended in a time range (default: the last 7 days): how many, by outcome (completed, failed, reaped, other), the success rate and the p50, p95 and longest duration in seconds; overall, or grouped `by` pool, agent, model, repo, host, hour or day, optionally filtered. Errors: `invalid_range`: `since` must be before `until`; `analytics_busy` or `store_unavailable`: retry shortly.',
      input: Type.Omit(StatsQuery, ['format'], { additionalProperties: false }),
      output: RunStatsAnswerSchema,
      names: [],
      annotations: READ,
      call: (query) => statsAnswer(lane, clock, query),
      text: (stats) => renderTables(statsTable(stats))
    })
  ]
}
