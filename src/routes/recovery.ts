/** The start-up report and an on-demand reaper pass, for operators (API §8.4). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AUTH_RESPONSES } from './schemas.js'
import { ReapedSchema } from '../store/workspaces/model.js'

const GhostSchema = Type.Object({ name: Type.String(), ...ReapedSchema.properties })

export const RecoverySchema = Type.Object({
  started_at: Type.String({ format: 'date-time' }),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  store: Type.Object({ mode: Type.Enum(['ok', 'degraded']), error: Type.Optional(Type.String()) }),
  hydrated: Type.Object({
    from_store: Type.Integer({ description: 'Registry records loaded from the store.' }),
    from_queue: Type.Integer({ description: 'Queued workspaces rebuilt from queue entries the registry lacked.' }),
    files_read: Type.Integer({ description: 'Valid status.json files found on the volume.' }),
    from_files: Type.Integer({ description: 'Records a status.json added or changed (files win, unless from an earlier run).' }),
    files_invalid: Type.Array(Type.Object({ path: Type.String(), error: Type.String() }), { description: 'Unreadable or invalid status.json files, skipped.' })
  }),
  reaped: Type.Array(GhostSchema, { description: 'Ghosts the start-up pass failed, with evidence.' }),
  orphans: Type.Object({
    skipped: Type.Union([Type.String(), Type.Null()], { description: 'Why orphan recovery did not run, if it did not.' }),
    outcomes: Type.Array(Type.Object({
      file: Type.String({ description: 'The file in `.core/state/`.' }),
      outcome: Type.Enum(['discarded', 'deleted_committed', 'quarantined', 'left_in_place'], { description: '`discarded`: a partial cycle, removed, never journalled; `deleted_committed`: its cycle was committed before a crash; `quarantined`: unreadable, moved to `.core/state/quarantine/`; `left_in_place`: locked by another process or not removable.' }),
      detail: Type.Optional(Type.String())
    }))
  }),
  warnings: Type.Array(Type.String(), { description: 'What start-up found wrong and worked around: a WAL DuckDB did not replay whole (acknowledged writes may be missing), `workspace/` or `backups/` as a symbolic link (never followed).' }),
  timings_ms: Type.Record(Type.String(), Type.Number(), { description: 'Milliseconds per start-up step.' })
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/recovery', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getRecovery',
      tags: ['operations'],
      summary: 'The last start-up report: hydration, ghosts reaped, orphans recovered, timings',
      response: { 200: RecoverySchema, ...AUTH_RESPONSES }
    }
  }, async () => app.state.recovery.report)

  app.post('/v1/reap', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'reapGhosts',
      tags: ['operations'],
      summary: 'Run a reaper pass now',
      description: 'The reaper also runs every REAPER_INTERVAL_S; this runs it at once and returns the ghosts it failed.',
      response: { 200: Type.Object({ reaped: Type.Array(GhostSchema) }), ...AUTH_RESPONSES }
    }
  }, async () => ({ reaped: await app.state.reaper.run() }))
}

export default routes
