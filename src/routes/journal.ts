/** /v1/journal: the committed QA cycles, newest first, and the diff of the latest cycle against the ones before (API §7). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { AUTH_RESPONSES, FormatQuery, ListQuery, Page, orTextTable, problem } from './schemas.js'
import { nextPageNote, type Table } from '../shared/text-table.js'
import { JournalDiffSchema, JournalRowSchema, WORKSPACE_TAG_PATTERN } from '../store/buffers/model.js'

const Workspace = (description: string) => Type.String({ pattern: WORKSPACE_TAG_PATTERN, description })

const JournalPage = Page(JournalRowSchema)

/** Entries per kind as `finding=3 test=1`, in kind order. */
const aggregateText = (aggregate: Record<string, number>): string =>
  Object.keys(aggregate).sort().map((k) => `${k}=${aggregate[k] as number}`).join(' ')

function journalTable (page: Static<typeof JournalPage>): Table[] {
  return [{
    columns: ['ID', 'WORKSPACE', 'MEASUREMENT', 'FINDINGS', 'AGGREGATE', 'COMMITTED_AT'],
    rows: page.items.map((r) => [r.id, r.tags.workspace, r.measurement, r.fields.findings.length, aggregateText(r.fields.aggregate), r.committed_at]),
    note: nextPageNote(page.next_cursor)
  }]
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { journal } = app.service

  app.get('/v1/journal', {
    config: { scope: 'read', table: journalTable },
    schema: {
      operationId: 'listJournal',
      tags: ['buffers'],
      summary: 'Committed QA cycles, newest first',
      querystring: Type.Object({
        workspace: Type.Optional(Workspace('Only the cycles of this workspace.')),
        ...ListQuery,
        ...FormatQuery
      }, { additionalProperties: false }),
      response: {
        200: orTextTable(JournalPage, 'A page of journal rows.'),
        400: problem('Invalid filter, limit, cursor or format.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const { workspace, limit, cursor } = request.query
    return reply.type('application/json').send(journal.page(workspace, limit ?? 100, cursor))
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
        200: JournalDiffSchema,
        400: problem('Missing or invalid workspace or window.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request) => journal.diff(request.query.workspace, request.query.window ?? 5))
}

export default routes
