/** GET /v1/recovery: the last start-up report (API §8.4). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AUTH_RESPONSES, ReapedSchema } from './schemas.js'

const Time = Type.String({ format: 'date-time' })

const RecoverySchema = Type.Object({
  started_at: Time,
  finished_at: Type.Union([Time, Type.Null()], { description: 'Null while start-up is still running.' }),
  store: Type.Object({
    mode: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    error: Type.Optional(Type.String())
  }),
  hydrated: Type.Object({
    from_store: Type.Integer({ description: 'Workspaces loaded from the registry.' }),
    from_queue: Type.Integer({ description: 'Queued workspaces rebuilt from queue entries alone.' }),
    from_files: Type.Integer({ description: 'Workspaces read from status.json files.' }),
    files_invalid: Type.Array(Type.Object({ path: Type.String(), error: Type.String() }))
  }),
  reaped: Type.Array(Type.Object({ name: Type.String(), ...ReapedSchema.properties })),
  orphans: Type.Object({
    skipped: Type.Union([Type.String(), Type.Null()], { description: 'Why orphan recovery did not run; null when it ran.' }),
    outcomes: Type.Array(Type.Object({
      file: Type.String({ description: 'The file in `.core/state/`.' }),
      outcome: Type.Union([
        Type.Literal('discarded'), Type.Literal('deleted_committed'), Type.Literal('quarantined'), Type.Literal('left_in_place')
      ], { description: '`discarded`: a partial cycle, removed, never journalled; `deleted_committed`: its cycle was committed before a crash; `quarantined`: unreadable, moved to `.core/state/quarantine/`; `left_in_place`: locked by another process or not removable.' }),
      detail: Type.Optional(Type.String())
    }))
  }),
  timings_ms: Type.Record(Type.String(), Type.Number(), { description: 'Milliseconds per start-up step, in the order they ran.' })
}, { description: 'What start-up hydrated, reaped and recovered, and how long each step took.' })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/recovery', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getRecovery',
      tags: ['operations'],
      summary: 'The last start-up report: hydration, reaped ghosts, recovered orphan buffers, timings',
      security: [{ bearer: [] }],
      response: { 200: RecoverySchema, ...AUTH_RESPONSES }
    }
  }, async () => app.state.recovery.report)
}

export default routes
