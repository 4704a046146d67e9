/** The queue in drain order with admission per entry, and the atomic claim (API §4). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { decodeCursor, encodeCursor } from '../store/core/cursor.js'
import { AUTH_RESPONSES, FormatQuery, ListQuery, orTextTable, problem } from './schemas.js'
import { POOL_PATTERN, WorkspaceSchema } from '../store/workspaces/model.js'
import { nextPageNote, type Table } from '../boot/text-table.js'

export const QueueItemSchema = Type.Object({
  workspace: WorkspaceSchema,
  admissible: Type.Boolean({ description: 'Whether a claim could take it now.' }),
  reasons: Type.Array(Type.Enum(['pool_full', 'model_full', 'backoff', 'daily_budget']))
})

export const QueuePage = Type.Object({ items: Type.Array(QueueItemSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) })

function queueTable (page: Static<typeof QueuePage>): Table[] {
  return [{
    columns: ['NAME', 'AGENT', 'PRIORITY', 'QUEUED_AT', 'ADMISSIBLE', 'REASONS'],
    rows: page.items.map(({ workspace: w, admissible, reasons }) => [w.name, w.agent, w.priority, w.queued_at, admissible, reasons.join(',')]),
    note: nextPageNote(page.next_cursor)
  }]
}

const ClaimBody = Type.Object({
  pool: Type.Optional(Type.String({ pattern: POOL_PATTERN, description: 'Only claim from this pool.' })),
  host: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Where the agent will run.' })),
  pid: Type.Optional(Type.Integer({ minimum: -1, maximum: 2147483647 })),
  pid_started_at: Type.Optional(Type.String({ format: 'date-time' }))
}, { additionalProperties: false })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { queue } = app.state

  app.get('/v1/queue', {
    config: { scope: 'read', table: queueTable },
    schema: {
      operationId: 'listQueue',
      tags: ['pools'],
      summary: 'Queued workspaces in drain order (priority, then oldest), each with admission and reasons',
      querystring: Type.Object({ ...ListQuery, ...FormatQuery }, { additionalProperties: false }),
      response: {
        200: orTextTable(QueuePage, 'A page of the queue in drain order.'),
        400: problem('Invalid limit, cursor or format.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request) => {
    const limit = request.query.limit ?? 100
    const after = decodeCursor(request.query.cursor)
    const all = queue.list()
    // The cursor is the name of the last item served; a page resumes after it in the current order.
    const start = after === undefined ? 0 : all.findIndex((i) => i.workspace.name === after) + 1
    const items = all.slice(start, start + limit)
    const more = start + limit < all.length
    return { items, next_cursor: more ? encodeCursor((items[items.length - 1] as typeof items[number]).workspace.name) : null }
  })

  app.post('/v1/queue/claim', {
    config: { scope: 'write' },
    // Only an absent body counts as `{}`: a JSON `null` is a wrong body (it used to be taken as `{}` and acted on).
    preValidation: async (request) => { if (request.body === undefined) request.body = {} },
    schema: {
      operationId: 'claimQueued',
      tags: ['pools'],
      summary: 'Atomically take the first admissible queued workspace and make it running',
      description: 'The claimed workspace becomes `running` with `runs + 1`. Concurrent claims never get the same workspace and never push a pool past its limit. 204 when nothing is admissible.',
      body: ClaimBody,
      response: {
        200: { ...WorkspaceSchema, description: 'The claimed workspace, now running.' },
        204: { type: 'null', description: 'Nothing is admissible now.' },
        400: problem('Invalid body.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const claimed = await queue.claim(request.body)
    if (claimed === null) return reply.code(204).send(null)
    return reply.header('etag', claimed.tracked.etag).header('x-store', claimed.store.mode).type('application/json').send(claimed.tracked.json)
  })
}

export default routes
