/** `GET /v1/events`: every change as server-sent events, with `Last-Event-ID` replay (API §9). */
import { fastifySSE } from '@fastify/sse'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Gauge } from 'prom-client'
import { limitReached, shuttingDown } from '../store/core/errors.js'
import { EVENT_TYPES, type EventType } from '../store/events/model.js'
import { EventStream } from './event-stream.js'
import { AUTH_RESPONSES, problem } from './schemas.js'

const TYPE_NAME = `(${EVENT_TYPES.join('|')})`
/** `?type=a,b`: only these event types (the stream and the stored log take the same filter). */
export const TypeFilter = Type.Optional(Type.String({
  pattern: `^${TYPE_NAME}(,${TYPE_NAME})*$`,
  description: `Only these event types, comma-separated: ${EVENT_TYPES.join(', ')}. All when absent.`
}))
const EventId = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description })

const DESCRIPTION = [
  'A `text/event-stream`: one message per change, with `id` = the event id (it only grows, across restarts),',
  '`event` = its type, and `data` = the event as JSON, `{id, type, subject, at, data}`.',
  'A client that sends `Last-Event-ID` (EventSource does on reconnect; curl can use `?last_event_id=`) first gets',
  'exactly the events after it: from memory when recent, else from the store, which keeps the newest',
  '`EVENT_RETENTION` events. A comment line (`: keep-alive`) comes every `SSE_KEEPALIVE_S` seconds.',
  'A client that falls more than `SSE_QUEUE_MAX` events behind is disconnected; it reconnects with its',
  '`Last-Event-ID` and catches up from the store. At most `EVENT_STREAMS_MAX` streams are open at once:',
  'one more is answered 429 `limit_reached` with `Retry-After`.'
].join(' ')

// A refused stream client retries after this long; EventSource waits its own retry interval regardless.
const RETRY_AFTER_S = 5

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { events, followers } = app.service
  const { sseQueueMax, eventStreamsMax } = app.config

  // eslint-disable-next-line no-new -- a registered gauge lives in the registry; nothing else holds it
  new Gauge({
    name: 'agent_state_event_streams',
    help: 'Clients connected to GET /v1/events now (at most EVENT_STREAMS_MAX).',
    registers: [app.metrics],
    collect () { this.set(followers.size) }
  })

  await app.register(fastifySSE)

  app.get('/v1/events', {
    config: { scope: 'read' },
    // 'manual': the route has one representation, so it streams whatever the Accept header says (RFC 9110
    // allows disregarding Accept), and no plugin-made 406 sidesteps problem+json. The keep-alive is ours.
    sse: { kind: 'manual', heartbeat: false },
    // A HEAD would open a stream that can never carry a body.
    exposeHeadRoute: false,
    schema: {
      operationId: 'streamEvents',
      tags: ['operations'],
      summary: 'Every change as server-sent events, with Last-Event-ID replay',
      description: DESCRIPTION,
      querystring: Type.Object({
        type: TypeFilter,
        last_event_id: Type.Optional(EventId('Replay the events after this id; the `Last-Event-ID` header wins when both are sent.'))
      }, { additionalProperties: false }),
      headers: Type.Object({
        'last-event-id': Type.Optional(EventId('Replay the events after this id (sent by EventSource when it reconnects).'))
      }),
      response: {
        200: { description: 'The event stream; it stays open until the client or the service closes it.', content: { 'text/event-stream': { schema: Type.String() } } },
        400: problem('An unknown event type or a malformed last event id.'),
        ...AUTH_RESPONSES,
        429: problem('`limit_reached`: `EVENT_STREAMS_MAX` streams are already open.')
      }
    }
  }, async (request, reply) => {
    // A client gone before the handler ran has already had its 'close': a stream for it would never leave `open`.
    if (request.raw.socket.destroyed) return
    // A request let in just before closing whose handler runs after the streams were ended: no stream would end it.
    if (app.closing() || followers.ended) throw shuttingDown()
    // Every open stream holds a socket, its buffers and a queue: their number is bounded like any resource a client creates.
    if (followers.size >= eventStreamsMax) {
      void reply.header('retry-after', String(RETRY_AFTER_S))
      throw limitReached(`${eventStreamsMax} event streams are open (EVENT_STREAMS_MAX); retry later`)
    }
    const after = request.headers['last-event-id'] ?? request.query.last_event_id
    const types = request.query.type === undefined ? null : new Set(request.query.type.split(',') as EventType[])
    const stream = new EventStream({ raw: reply.raw, events, store: () => app.service.readStore(), types, queueMax: sseQueueMax, log: request.log })
    reply.raw.on('close', () => followers.delete(stream))
    reply.sse.keepAlive()
    // Send the headers now, so a client sees the stream open before the first event.
    reply.sse.sendHeaders()
    reply.raw.flushHeaders()
    followers.add(stream)
    await stream.start(after)
  })
}

export default routes
