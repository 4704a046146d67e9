/** /v1/journal: the committed QA cycles, newest first, and the diff of the latest cycle against the ones before (API §7). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AggregateSchema } from './buffers.js'
import { AUTH_RESPONSES, ListQuery, Page, problem } from './schemas.js'
import { WORKSPACE_TAG_PATTERN } from '../store/buffers/model.js'

const Workspace = (description: string) => Type.String({ pattern: WORKSPACE_TAG_PATTERN, description })

const FindingSchema = Type.Object({}, { additionalProperties: true, description: 'A finding as the cycle added it, e.g. `{tool, file, line, code, severity, message}`.' })

export const JournalRowSchema = Type.Object({
  id: Type.Integer({ description: 'Grows by one per committed cycle.' }),
  measurement: Type.String({ description: 'The buffer name.' }),
  tags: Type.Object({ workspace: Type.String() }),
  fields: Type.Object({
    aggregate: AggregateSchema,
    findings: Type.Array(FindingSchema, { description: 'The data of the buffer\'s `finding` entries, in the order they were added.' })
  }),
  committed_at: Type.String({ format: 'date-time' })
}, { description: 'One committed cycle.' })

export const DiffSchema = Type.Object({
  workspace: Type.String(),
  window: Type.Integer({ description: 'Cycles asked for.' }),
  cycles: Type.Array(Type.Object({
    id: Type.Integer(),
    measurement: Type.String(),
    committed_at: Type.String({ format: 'date-time' })
  }), { description: 'The cycles compared, newest first (at most `window`); the first is the latest.' }),
  new: Type.Array(FindingSchema, { description: 'In the latest cycle, not in the one before it.' }),
  resolved: Type.Array(FindingSchema, { description: 'In the cycle before the latest, not in the latest.' }),
  persistent: Type.Array(FindingSchema, { description: 'In every cycle compared.' })
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { journal } = app

  app.get('/v1/journal', {
    config: { scope: 'read' },
    schema: {
      operationId: 'listJournal',
      tags: ['buffers'],
      summary: 'Committed QA cycles, newest first',
      querystring: Type.Object({
        workspace: Type.Optional(Workspace('Only the cycles of this workspace.')),
        ...ListQuery
      }, { additionalProperties: false }),
      response: {
        200: { ...Page(JournalRowSchema), description: 'A page of journal rows.' },
        400: problem('Invalid filter, limit or cursor.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const { workspace, limit, cursor } = request.query
    return reply.type('application/json').send(journal.page(workspace, limit ?? 100, cursor, app.config.pageMaxBytes))
  })

  app.get('/v1/journal/diff', {
    config: { scope: 'read' },
    schema: {
      operationId: 'diffJournal',
      tags: ['buffers'],
      summary: 'The latest cycle\'s findings against the previous ones: new, resolved, persistent',
      description: 'A finding is keyed by `tool|file|line|code` (`rule_id` when `code` is empty). The window is the workspace\'s last `window` cycles, or as many as exist; with fewer than two every list is empty (the first cycle is a baseline). Lists are in key order.',
      querystring: Type.Object({
        workspace: Workspace('The workspace whose cycles are compared.'),
        window: Type.Optional(Type.Integer({ minimum: 2, maximum: 50, default: 5, description: 'How many of the latest cycles to compare.' }))
      }, { additionalProperties: false }),
      response: {
        200: DiffSchema,
        400: problem('Missing or invalid workspace or window.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request) => journal.diff(request.query.workspace, request.query.window ?? 5))
}

export default routes
