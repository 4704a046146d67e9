/** `GET /v1/events/log`: the stored event log as a JSON page, newest first: a workspace's history, the backlog of a live tail. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { decodeCursor, encodeCursor } from '../store/core/cursor.js'
import { eventStore, readEventPage } from '../store/events/queries.js'
import { ChangeEventSchema, type EventType } from '../store/events/model.js'
import { TypeFilter } from './events.js'
import { AUTH_RESPONSES, ListQuery, Page, problem } from './schemas.js'

// What events are about: workspace, pool and buffer names, sync item ids (`sq_…`), `agents` for the configuration.
const SUBJECT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:/_-]{0,299}$'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/events/log', {
    config: { scope: 'read' },
    schema: {
      operationId: 'listEvents',
      tags: ['operations'],
      summary: 'Stored events, newest first, by type and subject',
      description: 'The events the store keeps (the newest `EVENT_RETENTION`), as a page. Events whose commit is still in flight are not listed yet; `GET /v1/events` streams them.',
      querystring: Type.Object({
        type: TypeFilter,
        subject: Type.Optional(Type.String({ pattern: SUBJECT_PATTERN, description: 'Only events about this subject, e.g. a workspace `core/go-io/task-5`.' })),
        ...ListQuery
      }, { additionalProperties: false }),
      response: { 200: Page(ChangeEventSchema), 400: problem('An unknown event type, a bad limit or cursor.'), ...AUTH_RESPONSES, 503: problem('The store is not open.') }
    }
  }, async (request) => {
    const q = request.query
    const page = await readEventPage(eventStore(await app.service.readStore()), {
      types: q.type === undefined ? null : q.type.split(',') as EventType[],
      subject: q.subject ?? null,
      beforeKey: decodeCursor(q.cursor) ?? null,
      limit: q.limit ?? 100
    })
    return { items: page.items, next_cursor: page.nextKey === null ? null : encodeCursor(page.nextKey) }
  })
}

export default routes
