/** /v1/sync: the outbox of finished dispatch reports on their way to the upstream API (API §6). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { DomainError } from '../store/core/errors.js'
import { AUTH_RESPONSES, FormatQuery, ListQuery, Page, STORE_NOTE, orTextTable, problem } from './schemas.js'
import { nextPageNote, type Table } from '../shared/text-table.js'
import { SyncAcceptedSchema, SyncItemSchema, SyncPushSchema, SyncStatusSchema } from '../store/sync/model.js'

const EnqueueHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    minLength: 1,
    maxLength: 200,
    pattern: '^[\\x20-\\x7E]+$',
    description: 'Printable ASCII, at most 200 characters. A repeat with the same key answers the first item and enqueues nothing. Keys are remembered while their item is queued or dead, and for 24 hours (at most 10,000 keys) after it was delivered or dropped.'
  }))
})

const ListSyncQuery = Type.Object({ ...ListQuery, ...FormatQuery }, { additionalProperties: false })
const SyncPage = Page(SyncItemSchema)

/** The queue and the dead letters alike: an item, its attempts and its last error. */
function syncTable (page: Static<typeof SyncPage>): Table[] {
  return [{
    columns: ['ID', 'AGENT', 'DISPATCHES', 'QUEUED_AT', 'ATTEMPTS', 'NEXT_ATTEMPT_AT', 'LAST_ERROR'],
    rows: page.items.map((i) => [i.id, i.agent_id, i.dispatches.length, i.queued_at, i.attempts, i.next_attempt_at, i.last_error]),
    note: nextPageNote(page.next_cursor)
  }]
}
const IdParams = Type.Object({ id: Type.String({ description: 'Item id (`sq_…`).' }) })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { queue, flusher } = app.service.sync
  const status = () => ({ ...queue.status(), upstream_configured: flusher !== null })

  app.post('/v1/sync/queue', {
    config: { scope: 'write' },
    schema: {
      operationId: 'enqueueSync',
      tags: ['sync'],
      summary: 'Queue finished dispatch reports for the upstream API',
      description: 'Answered once the item is stored. The flusher sends `{agent_id, dispatches}` upstream with the item id as `Idempotency-Key`. A repeat with the same `Idempotency-Key` header answers the first item (header `Idempotent-Replayed: true`); the body of a repeat is not compared.' + STORE_NOTE,
      headers: EnqueueHeaders,
      body: SyncPushSchema,
      response: {
        202: { ...SyncAcceptedSchema, description: 'Queued (or, for a repeat, queued before).' },
        400: problem('Invalid body or `Idempotency-Key` (`validation_failed`, each bad field listed).'),
        429: problem('`limit_reached`: the outbox holds `SYNC_QUEUE_MAX_ITEMS` items or `SYNC_QUEUE_MAX_BYTES` bytes (queued and dead together).'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const { accepted, repeat, store } = await queue.enqueue(request.body, request.headers['idempotency-key'], request.caller)
    if (repeat) reply.header('idempotent-replayed', 'true')
    return reply.code(202).header('x-store', store.mode).send(accepted)
  })

  app.get('/v1/sync/queue', {
    config: { scope: 'read', table: syncTable },
    schema: {
      operationId: 'listSyncQueue',
      tags: ['sync'],
      summary: 'List queued items in delivery order',
      querystring: ListSyncQuery,
      response: {
        200: orTextTable(SyncPage, 'A page of items, the head first.'),
        400: problem('Invalid `limit` or cursor.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => reply.type('application/json').send(queue.page('queue', request.query.limit ?? 100, request.query.cursor)))

  app.delete('/v1/sync/queue', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'clearSyncQueue',
      tags: ['sync'],
      summary: 'Drop every queued item',
      description: 'Dead letters stay. Each dropped item is recorded as an event with the caller.' + STORE_NOTE,
      response: {
        200: Type.Object({ dropped: Type.Integer({ description: 'Items dropped.' }) }, { description: 'The queue is empty.' }),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const { dropped, store } = await queue.dropAll(request.caller)
    return reply.header('x-store', store.mode).send({ dropped })
  })

  for (const which of ['queue', 'dead'] as const) {
    app.delete(`/v1/sync/${which}/:id`, {
      config: { scope: 'admin' },
      schema: {
        operationId: which === 'queue' ? 'dropSyncItem' : 'dropSyncDeadLetter',
        tags: ['sync'],
        summary: which === 'queue' ? 'Drop one queued item' : 'Drop one dead letter for good',
        description: 'Recorded as an event with the caller. An item being delivered at that moment may still reach upstream.' + STORE_NOTE,
        params: IdParams,
        response: {
          204: { description: 'Dropped.', type: 'null' },
          ...AUTH_RESPONSES,
          404: problem(which === 'queue' ? 'No queued item has this id.' : 'No dead letter has this id.')
        }
      }
    }, async (request, reply) => {
      const store = await queue.drop(which, request.params.id, request.caller)
      return reply.code(204).header('x-store', store.mode).send()
    })
  }

  app.get('/v1/sync/status', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getSyncStatus',
      tags: ['sync'],
      summary: 'Queue depth, dead letters and the last delivery',
      response: { 200: SyncStatusSchema, ...AUTH_RESPONSES }
    }
  }, async () => status())

  app.post('/v1/sync/flush', {
    config: { scope: 'write' },
    schema: {
      operationId: 'flushSync',
      tags: ['sync'],
      summary: 'Try the head of the queue now',
      description: 'Skips the current backoff (or Retry-After) wait and returns at once; watch `GET /v1/sync/status` or the `sync` events for the outcome.',
      response: {
        202: { ...SyncStatusSchema, description: 'The flusher was woken; the status before it ran.' },
        ...AUTH_RESPONSES,
        409: problem('`upstream_not_configured`: `SYNC_URL` is not set, so items wait.')
      }
    }
  }, async (_request, reply) => {
    if (flusher === null) throw new DomainError('upstream_not_configured', 'SYNC_URL is not set: queued items wait until it is')
    flusher.flush()
    return reply.code(202).send(status())
  })

  app.get('/v1/sync/dead', {
    config: { scope: 'read', table: syncTable },
    schema: {
      operationId: 'listSyncDead',
      tags: ['sync'],
      summary: 'List dead letters',
      description: 'Items upstream refused (a 4xx other than 408 and 429, or a 3xx) or that failed `SYNC_MAX_ATTEMPTS` times, oldest first, each with its last error. They are kept until replayed or dropped.',
      querystring: ListSyncQuery,
      response: {
        200: orTextTable(SyncPage, 'A page of dead letters.'),
        400: problem('Invalid `limit`, cursor or `format`.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => reply.type('application/json').send(queue.page('dead', request.query.limit ?? 100, request.query.cursor)))

  app.post('/v1/sync/dead/:id/replay', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'replaySyncDeadLetter',
      tags: ['sync'],
      summary: 'Queue a dead letter again',
      description: 'The item goes to the tail of the queue with `attempts` 0 and keeps its id, which stays its `Idempotency-Key` upstream. Recorded as an event with the caller.' + STORE_NOTE,
      params: IdParams,
      response: {
        202: { ...SyncItemSchema, description: 'The item, queued again.' },
        ...AUTH_RESPONSES,
        404: problem('No dead letter has this id.')
      }
    }
  }, async (request, reply) => {
    const { json, store } = await queue.replay(request.params.id, request.caller)
    return reply.code(202).header('x-store', store.mode).type('application/json').send(json)
  })
}

export default routes
