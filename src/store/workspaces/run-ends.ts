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
 */
import { Type, type Static } from 'typebox'
import type { Workspace } from './model.js'

const Time = Type.String({ format: 'date-time' })

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
  started_at: Time,
  ended_at: Time,
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

/** The run `prev` was in, if the change to `next` (undefined: a delete at `at`) ends it. */
export function runEnd (prev: Workspace | undefined, next: Workspace | undefined, at: string): RunEnd | null {
  if (prev?.status !== 'running') return null
  const outcome = outcomeOf(prev, next)
  if (outcome === null) return null
  const endedAt = next?.updated_at ?? at
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
