/** The start-up report behind GET /v1/recovery: what came back from where, what was reaped or recovered, and how long each step took. */

import { Type, type Static } from 'typebox'
import { DateTime, Nullable } from '../core/schema.js'
import { ReapedSchema } from '../workspaces/model.js'

/** A ghost the reaper failed, with its evidence. */
export const GhostSchema = Type.Object({ name: Type.String(), ...ReapedSchema.properties })
export type ReapedGhost = Static<typeof GhostSchema>

const InvalidFileSchema = Type.Object({ path: Type.String(), error: Type.String() })
export type InvalidFile = Static<typeof InvalidFileSchema>

export const ORPHAN_OUTCOMES = ['discarded', 'deleted_committed', 'quarantined', 'left_in_place'] as const
const OrphanOutcomeSchema = Type.Object({
  file: Type.String({ description: 'The file in `.core/state/`.' }),
  outcome: Type.Enum(ORPHAN_OUTCOMES, { description: '`discarded`: a partial cycle, removed, never journalled; `deleted_committed`: its cycle was committed before a crash; `quarantined`: unreadable, moved to `.core/state/quarantine/`; `left_in_place`: locked by another process or not removable (tried again at the next start-up).' }),
  detail: Type.Optional(Type.String())
})
export type OrphanOutcome = Static<typeof OrphanOutcomeSchema>

export const RecoverySchema = Type.Object({
  started_at: DateTime(),
  finished_at: Nullable(DateTime()),
  store: Type.Object({ mode: Type.Enum(['ok', 'degraded']), error: Type.Optional(Type.String()) }),
  hydrated: Type.Object({
    from_store: Type.Integer({ description: 'Registry records loaded from the store.' }),
    from_queue: Type.Integer({ description: 'Queued workspaces rebuilt from queue entries the registry lacked.' }),
    files_read: Type.Integer({ description: 'Valid status.json files found on the volume.' }),
    from_files: Type.Integer({ description: 'Records a status.json added or changed (a file wins only with evidence the store never saw: API §8.1).' }),
    files_invalid: Type.Array(InvalidFileSchema, { description: 'Unreadable or invalid status.json files, skipped.' })
  }),
  reaped: Type.Array(GhostSchema, { description: 'Ghosts the start-up pass failed, with evidence (later passes are in the event log).' }),
  orphans: Type.Object({
    skipped: Nullable(Type.String(), 'Why orphan recovery did not run, if it did not.'),
    outcomes: Type.Array(OrphanOutcomeSchema)
  }),
  timings_ms: Type.Record(Type.String(), Type.Number(), { description: 'Milliseconds per start-up step, in the order the steps ran.' })
})
export type RecoveryReport = Static<typeof RecoverySchema>

export class Recovery {
  readonly report: RecoveryReport

  constructor (startedAt: string) {
    this.report = {
      started_at: startedAt,
      finished_at: null,
      store: { mode: 'ok' },
      hydrated: { from_store: 0, from_queue: 0, files_read: 0, from_files: 0, files_invalid: [] },
      reaped: [],
      orphans: { skipped: null, outcomes: [] },
      timings_ms: {}
    }
  }

  /** Runs one start-up step and records its duration under `step`. */
  async step<T> (step: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now()
    try {
      return await fn()
    } finally {
      this.report.timings_ms[step] = Math.round((performance.now() - t0) * 10) / 10
    }
  }
}
