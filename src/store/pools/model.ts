/** The pool domain's answers (API §5): a pool's view with its admission reasons, and where the configuration came from. */
import { Type, type Static } from 'typebox'
import { DateTime, Nullable } from '../core/schema.js'

/** Why a pool cannot take work now. */
export const REASONS = ['pool_full', 'model_full', 'backoff', 'daily_budget'] as const
export type Reason = typeof REASONS[number]
export const ReasonsSchema = Type.Array(Type.Enum(REASONS), { description: 'Why it is not admissible now; empty when it is.' })

export const PoolViewSchema = Type.Object({
  pool: Type.String(),
  running: Type.Integer(),
  tracked: Type.Integer(),
  limit: Nullable(Type.Integer(), 'Pool total; null = unlimited.'),
  model_limits: Type.Record(Type.String(), Type.Integer(), { description: 'Sub-limits per model.' }),
  running_by_model: Type.Record(Type.String(), Type.Integer(), { description: 'Running per model that has a sub-limit.' }),
  backoff_until: Nullable(DateTime()),
  backoff_reason: Nullable(Type.String()),
  fail_count: Type.Integer({ description: 'Fast failures in a row so far.' }),
  daily: Type.Object({
    started: Type.Integer({ description: 'Workspaces that entered running since the last reset.' }),
    limit: Nullable(Type.Integer()),
    resets_at: DateTime()
  }),
  admissible: Type.Boolean(),
  reasons: ReasonsSchema,
  snapshot_at: Nullable(DateTime())
})
export type PoolView = Static<typeof PoolViewSchema>

/** Where the configuration in force came from, and why a newer one was refused if it was. */
export const ConfigStateSchema = Type.Object({
  origin: Type.Enum(['default', 'file', 'api', 'store'], { description: 'Where the configuration in force came from.' }),
  applied_at: Nullable(DateTime()),
  error: Nullable(Type.String(), 'Why a newer agents.yaml was refused at start-up, if it was.')
})
export type ConfigState = Static<typeof ConfigStateSchema>
