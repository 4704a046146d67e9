/**
 * When a workspace change ends a run, and how. A run is a workspace's stay in `running` under one
 * `runs` number; it ends when the workspace leaves `running` that way:
 *
 * - a report of any other status (completed, failed, blocked, queued, …): the outcome is that status;
 * - the reaper's verdict (at start-up, for a run from before a restart, or in a later pass): `reaped`,
 *   with the reaper's reason;
 * - a report of `running` with a higher `runs`: the agent started over without ending the run it had,
 *   so that run ends as `superseded`;
 * - a delete of a running workspace: `deleted`;
 * - a status.json read at start-up that finished the run while the service was down: its status, at the
 *   file's `updated_at`.
 *
 * A claim never ends a run (it takes a `queued` workspace), nor do heartbeats or reports that keep the
 * same run running. A workspace first reported as already finished had no run the service saw: no end.
 *
 * One change ends a run a second time: the run's own outcome arriving after the reaper failed it (a
 * `late_outcome`, API §3). A reap is an inference, the outcome is evidence: the run ends again with that
 * outcome, and whoever recorded the reap replaces it.
 */
import { Type, type Static } from 'typebox'
import { DomainError } from '../core/errors.js'
import { DateTime } from '../core/schema.js'
import { parseTime } from '../core/time.js'
import type { Workspace, WorkspaceReport } from './model.js'

/**
 * What ended a run, for the listeners that weigh a reap against evidence: `startup_reaper` is a verdict on
 * a process that ended while the service was down, at a time nobody knows; `late_outcome` is the run's own
 * outcome overruling a reap of it; `file` is a status.json read at start-up.
 */
export type EndSource = 'report' | 'late_outcome' | 'reaper' | 'startup_reaper' | 'file' | 'delete'

/** A change as run ends see it: who made it and, for a report, when the agent says its run ended. */
export interface Change {
  source: EndSource
  ended_at?: string
}

/** How far an agent's clock may run ahead of (or its end precede the start by) before `ended_at` is refused. */
export const CLOCK_SKEW_MS = 60_000

/**
 * An ended run, as the run history stores it (history/table.ts): the bounds are its columns' (`runs` is
 * an INTEGER, the times TIMESTAMPTZ, the duration a finite DOUBLE), so a row that passes is one the
 * store takes.
 */
export const RunEndSchema = Type.Object({
  workspace: Type.String(),
  org: Type.String(),
  repo: Type.String(),
  pool: Type.String(),
  agent: Type.String(),
  /** The part of the agent after `:`, '' when the agent names no model. */
  model: Type.String(),
  runs: Type.Integer({ minimum: -2147483648, maximum: 2147483647 }),
  /** '' when the agent reported no host (this service's host). */
  host: Type.String(),
  started_at: DateTime(),
  ended_at: DateTime(),
  duration_s: Type.Number(),
  outcome: Type.String(),
  reap_reason: Type.Union([Type.String(), Type.Null()])
})
export type RunEnd = Static<typeof RunEndSchema>

function outcomeOf (prev: Workspace, next: Workspace | undefined): string | null {
  if (next === undefined) return 'deleted'
  if (next.status === 'running') return next.runs > prev.runs ? 'superseded' : null
  if (next.reaped !== undefined && next.runs === prev.runs) return 'reaped'
  return next.status
}

/**
 * The run `prev` was in, if the change to `next` (undefined: a delete at `at`) ends it. A late outcome
 * ends the reaped run `prev` again, with its own status.
 */
export function runEnd (prev: Workspace | undefined, next: Workspace | undefined, at: string, change: Change): RunEnd | null {
  if (prev === undefined) return null
  const late = change.source === 'late_outcome' && next !== undefined
  if (prev.status !== 'running' && !late) return null
  const outcome = late ? next.status : outcomeOf(prev, next)
  if (outcome === null) return null
  const endedAt = change.ended_at ?? next?.updated_at ?? at
  const colon = prev.agent.indexOf(':')
  return {
    workspace: prev.name,
    org: prev.org,
    repo: prev.repo,
    pool: prev.pool,
    agent: prev.agent,
    model: colon < 0 ? '' : prev.agent.slice(colon + 1),
    runs: prev.runs,
    host: prev.host ?? '',
    started_at: prev.started_at,
    ended_at: endedAt,
    // A clock step or a started_at reported from another host can put the start after the end.
    duration_s: Math.max(0, (Date.parse(endedAt) - Date.parse(prev.started_at)) / 1000),
    outcome,
    reap_reason: outcome === 'reaped' ? (next?.reaped?.reason ?? null) : null
  }
}

/**
 * The `ended_at` of a report, checked and in canonical form: only a report that leaves `running` has one; it
 * may be up to CLOCK_SKEW_MS ahead of `now` or before the run's start (when the service knows that run, or
 * the report says when it started), and is then brought within them.
 */
export function reportedEnd (body: WorkspaceReport, startedAt: string | undefined, now: string): string | undefined {
  if (body.ended_at === undefined) return undefined
  const refuse = (message: string): never => {
    throw new DomainError('validation_failed', `ended_at ${message}`, [{ field: 'body.ended_at', message }])
  }
  if (body.status === 'running') refuse('is for a report that ends the run, not one of `running`')
  const end = parseTime(body.ended_at)
  const start = startedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(startedAt)
  const latest = Date.parse(now)
  if (end > latest + CLOCK_SKEW_MS) refuse(`is more than ${CLOCK_SKEW_MS / 1000} s ahead of the service's clock (${now})`)
  if (end < start - CLOCK_SKEW_MS) refuse(`is more than ${CLOCK_SKEW_MS / 1000} s before the run started (${startedAt as string})`)
  return new Date(Math.min(latest, Math.max(start, end))).toISOString()
}
