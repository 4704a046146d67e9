/** The queue in drain order with admission per entry, and the atomic claim (API §4). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime } from '../store/core/schema.js'
import { Type, type Static } from 'typebox'
import { MAX_CLAIM_WAIT_S } from '../shared/claims.js'
import { claimWork } from '../store/workspaces/claim-waits.js'
import { queuePage } from '../store/workspaces/answers.js'
import { AUTH_RESPONSES, FormatQuery, ListQuery, orTextTable, problem } from './schemas.js'
import { ReasonsSchema } from '../store/pools/model.js'
import { POOL_PATTERN, WorkspaceSchema } from '../store/workspaces/model.js'
import { nextPageNote, type Table } from '../shared/text-table.js'

export const QueueItemSchema = Type.Object({
  workspace: WorkspaceSchema,
  admissible: Type.Boolean({ description: 'Whether a claim could take it now.' }),
  reasons: ReasonsSchema
})

export const QueuePage = Type.Object({ items: Type.Array(QueueItemSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) })

export function queueTable (page: Static<typeof QueuePage>): Table[] {
  return [{
    columns: ['NAME', 'AGENT', 'PRIORITY', 'QUEUED_AT', 'ADMISSIBLE', 'REASONS'],
    rows: page.items.map(({ workspace: w, admissible, reasons }) => [w.name, w.agent, w.priority, w.queued_at, admissible, reasons.join(',')]),
    note: nextPageNote(page.next_cursor)
  }]
}

export const ClaimBody = Type.Object({
  pool: Type.Optional(Type.String({ pattern: POOL_PATTERN, description: 'Only claim from this pool.' })),
  host: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Where the agent will run.' })),
  pid: Type.Optional(Type.Integer({ minimum: -1, maximum: 2147483647 })),
  pid_started_at: Type.Optional(DateTime()),
  wait_s: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_CLAIM_WAIT_S, description: `Long poll: when nothing is admissible, wait up to this many seconds (max ${MAX_CLAIM_WAIT_S}) and answer the moment something is. 0 or absent: answer at once.` }))
}, { additionalProperties: false })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { queue, claims } = app.service

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
  }, async (request) => queuePage(queue, request.query.limit, request.query.cursor))

  app.post('/v1/queue/claim', {
    config: { scope: 'write' },
    // Only an absent body counts as `{}`: a JSON `null` is a wrong body (it used to be taken as `{}` and acted on).
    preValidation: async (request) => { if (request.body === undefined) request.body = {} },
    schema: {
      operationId: 'claimQueued',
      tags: ['pools'],
      summary: 'Atomically take the first admissible queued workspace and make it running',
      description: 'The claimed workspace becomes `running` with `runs + 1`. Concurrent claims never get the same workspace and never push a pool past its limit. 204 when nothing is admissible. With `wait_s`, the answer comes the moment a workspace becomes admissible (waiting claims are served in arrival order), or 204 once the wait is over; a client that disconnects stops waiting.',
      body: ClaimBody,
      response: {
        200: { ...WorkspaceSchema, description: 'The claimed workspace, now running.' },
        204: { type: 'null', description: 'Nothing is admissible now.' },
        400: problem('Invalid body.'),
        ...AUTH_RESPONSES,
        503: problem('`too_many_waiters`: `CLAIM_WAITERS_MAX` claims are already waiting.')
      }
    }
  }, async (request, reply) => {
    const left = new AbortController()
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) left.abort() })
    if (request.raw.socket.destroyed) left.abort()
    const claimed = await claimWork(claims, request.body, left.signal)
    if (claimed === null) return reply.code(204).send(null)
    return reply.header('etag', claimed.tracked.etag).header('x-store', claimed.store.mode).type('application/json').send(claimed.tracked.json)
  })
}

export default routes
