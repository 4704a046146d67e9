/** TypeBox schemas of the sync outbox (API §6): the push an agent enqueues, the stored item, the status. */
import { DateTime } from '../core/schema.js'
import { Type, type Static } from 'typebox'

const pushFields = {
  agent_id: Type.String({ minLength: 1, maxLength: 255, description: 'The agent the reports come from, e.g. `charon`; sent upstream.' }),
  fleet_node_id: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'The fleet node the agent runs on, if any; kept with the item, not sent upstream.' })),
  dispatches: Type.Array(Type.Object({}, { additionalProperties: true }), {
    minItems: 1,
    maxItems: 1000,
    description: 'Finished dispatch records (objects), sent upstream exactly as given.'
  })
}

export const SyncPushSchema = Type.Object(pushFields, { additionalProperties: false, description: 'A batch of finished dispatch reports for the upstream API.' })
export type SyncPush = Static<typeof SyncPushSchema>

export const SyncAcceptedSchema = Type.Object({
  id: Type.String({ description: 'The item id; also the `Idempotency-Key` of every delivery attempt.' }),
  queued_at: DateTime('When the item was accepted.'),
  attempts: Type.Integer({ description: 'Always 0 here: nothing has been attempted yet.' })
})

export const SyncItemSchema = Type.Object({
  id: Type.String({ description: 'Opaque item id (`sq_…`); also the `Idempotency-Key` sent upstream.' }),
  ...pushFields,
  queued_at: DateTime('When the item was accepted.'),
  attempts: Type.Integer({ description: 'Failed delivery attempts so far (reset by a replay).' }),
  next_attempt_at: Type.Union([DateTime('Not retried before this time.'), Type.Null()], { description: 'Not retried before this time; null when due now.' }),
  last_error: Type.Union([Type.String(), Type.Null()], { description: 'Why the last attempt failed, e.g. `HTTP 503: …`, `timeout after 10000 ms`.' }),
  idempotency_key: Type.Optional(Type.String({ description: 'The `Idempotency-Key` the item was enqueued with.' })),
  dead_at: Type.Optional(DateTime('Dead letters only: when the item stopped being retried.'))
}, { description: 'A queued push, or a dead letter.' })
export type SyncItem = Static<typeof SyncItemSchema>

export const SyncStatusSchema = Type.Object({
  queued: Type.Integer({ description: 'Items waiting for delivery.' }),
  dead: Type.Integer({ description: 'Dead letters (kept until replayed or dropped).' }),
  last_push_at: Type.Union([DateTime('Last successful delivery.'), Type.Null()], { description: 'Last successful delivery by this process; null before the first.' }),
  last_error: Type.Union([Type.String(), Type.Null()], { description: 'The error of the last attempt by this process; null once an attempt succeeds.' }),
  upstream_configured: Type.Boolean({ description: 'Whether `SYNC_URL` is set; without it items wait.' })
})
export type SyncStatus = Static<typeof SyncStatusSchema>
