/** Pools, backoff and configuration: can this agent type take more work now, and if not, why and until when (API §5). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime } from '../store/core/schema.js'
import { Type, type Static } from 'typebox'
import { AgentsConfigSchema, validateConfig, writeAgentsFile } from '../store/pools/agents-config.js'
import { DomainError, notFound } from '../store/core/errors.js'
import { ConfigStateSchema, PoolViewSchema, type PoolView } from '../store/pools/model.js'
import { POOL_PATTERN } from '../store/workspaces/model.js'
import { parseTime } from '../store/core/time.js'
import { poolList } from '../store/pools/answers.js'
import { AUTH_RESPONSES, FormatQuery, orTextTable, problem } from './schemas.js'
import type { Table } from '../shared/text-table.js'

export const PoolParams = Type.Object({ pool: Type.String({ pattern: POOL_PATTERN, description: 'Pool (agent base), e.g. `codex`.' }) })
export const PoolList = Type.Object({ items: Type.Array(PoolViewSchema) })

export function poolTable (list: Static<typeof PoolList>): Table[] {
  return [{
    columns: ['POOL', 'RUNNING', 'LIMIT', 'TRACKED', 'DAILY', 'BACKOFF_UNTIL', 'ADMISSIBLE', 'REASONS'],
    rows: list.items.map((p) => [
      p.pool, p.running, p.limit ?? 'unlimited', p.tracked,
      p.daily.limit === null ? p.daily.started : `${p.daily.started}/${p.daily.limit}`,
      p.backoff_until, p.admissible, p.reasons.join(',')
    ])
  }]
}

const BackoffState = Type.Object({ backoff: Type.Record(Type.String(), DateTime()), fail_count: Type.Record(Type.String(), Type.Integer()) })

/** One row per pool that is backed off or has fast failures counted, in name order. */
function backoffTable (state: Static<typeof BackoffState>): Table[] {
  const names = [...new Set([...Object.keys(state.backoff), ...Object.keys(state.fail_count)])].sort()
  return [{ columns: ['POOL', 'BACKOFF_UNTIL', 'FAIL_COUNT'], rows: names.map((p) => [p, state.backoff[p], state.fail_count[p] ?? 0]) }]
}

const BackoffBody = Type.Object({
  until: Type.Optional(DateTime('Deadline (RFC 3339).')),
  seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604800, description: 'Or: this many seconds from now.' })),
  reason: Type.String({ minLength: 1, maxLength: 500 })
}, { additionalProperties: false, description: 'Exactly one of `until` and `seconds`, and a reason.' })

const ConfigView = Type.Object({ config: AgentsConfigSchema, ...ConfigStateSchema.properties })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { pools, clock } = app.service
  const configView = () => ({ config: pools.settings.source, ...pools.config })
  let answered: { views: readonly PoolView[] | null, json: string } = { views: null, json: '' }

  app.get('/v1/pools', {
    config: { scope: 'read', table: poolTable },
    schema: {
      operationId: 'listPools',
      tags: ['pools'],
      summary: 'Every pool: running, limits, backoff, daily budget and admission',
      querystring: Type.Object(FormatQuery, { additionalProperties: false }),
      response: { 200: orTextTable(PoolList, 'Every pool that is configured, tracked or backed off.'), 400: problem('Invalid `format`.'), ...AUTH_RESPONSES }
    }
  }, async (_request, reply) => {
    // The views are kept until something changes (Pools.views): so is their JSON.
    const list = poolList(pools, clock())
    if (list.items !== answered.views) answered = { views: list.items, json: JSON.stringify(list) }
    return reply.type('application/json').send(answered.json)
  })

  app.get('/v1/pools/:pool', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getPool',
      tags: ['pools'],
      summary: 'One pool: can it take more work now, and if not, why and until when',
      params: PoolParams,
      response: { 200: PoolViewSchema, 400: problem('Invalid pool name.'), ...AUTH_RESPONSES, 404: problem('A pool nothing knows about: not configured, tracked or backed off.') }
    }
  }, async (request) => {
    const { pool } = request.params
    if (!pools.names().includes(pool)) throw notFound(`pool ${pool}`)
    return pools.view(pool, clock())
  })

  app.get('/v1/backoff', {
    config: { scope: 'read', table: backoffTable },
    schema: {
      operationId: 'getBackoff',
      tags: ['pools'],
      summary: 'Active backoff deadlines and fail counts per pool',
      querystring: Type.Object(FormatQuery, { additionalProperties: false }),
      response: {
        200: orTextTable(BackoffState, 'Backoff deadlines and fast-failure counts, by pool.'),
        400: problem('Invalid `format`.'),
        ...AUTH_RESPONSES
      }
    }
  }, async () => pools.runtime(clock()))

  app.put('/v1/pools/:pool/backoff', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'setPoolBackoff',
      tags: ['pools'],
      summary: 'Back a pool off until a time, or for some seconds',
      description: 'Recorded as a `backoff` event naming the caller.',
      params: PoolParams,
      body: BackoffBody,
      response: {
        200: PoolViewSchema,
        400: problem('Invalid body: exactly one of `until` and `seconds`, a future deadline, and a reason.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const { until, seconds, reason } = request.body
    const now = clock()
    if ((until === undefined) === (seconds === undefined)) {
      throw new DomainError('validation_failed', 'give exactly one of until and seconds', [{ field: 'body', message: 'exactly one of until, seconds' }])
    }
    const deadline = until !== undefined ? new Date(parseTime(until)) : new Date(now.getTime() + (seconds as number) * 1000)
    if (deadline.getTime() <= now.getTime()) throw new DomainError('validation_failed', 'the deadline is in the past', [{ field: 'body.until', message: 'must be in the future' }])
    const { view, store } = await pools.setBackoff(request.params.pool, deadline, reason, request.caller)
    reply.header('x-store', store.mode)
    return view
  })

  app.delete('/v1/pools/:pool/backoff', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'clearPoolBackoff',
      tags: ['pools'],
      summary: "Clear a pool's backoff and reset its fail count",
      description: 'Recorded as a `backoff` event naming the caller.',
      params: PoolParams,
      response: { 200: PoolViewSchema, 400: problem('Invalid pool name.'), ...AUTH_RESPONSES }
    }
  }, async (request, reply) => {
    const { view, store } = await pools.clearBackoff(request.params.pool, request.caller)
    reply.header('x-store', store.mode)
    return view
  })

  app.get('/v1/config', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'getConfig',
      tags: ['pools'],
      summary: 'The pool configuration in force and where it came from',
      response: { 200: ConfigView, ...AUTH_RESPONSES }
    }
  }, async () => configView())

  app.put('/v1/config', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'putConfig',
      tags: ['pools'],
      summary: 'Replace the pool configuration: validated, written to agents.yaml, stored and applied at once',
      description: 'Other sections of agents.yaml (the Go agent\'s `dispatch`, `agents`, …) are kept. A bad body changes nothing and names each bad key.',
      body: AgentsConfigSchema,
      response: { 200: ConfigView, 400: problem('Invalid configuration; `errors` names each bad key.'), 409: problem('`config_file_unusable`: agents.yaml on the volume is not a regular file the service may rewrite (a FIFO, a link out, too large).'), ...AUTH_RESPONSES }
    }
  }, async (request, reply) => {
    const config = validateConfig(request.body, true)
    await writeAgentsFile(app.config.dataDir, config)
    const store = await pools.replaceConfig(config, request.caller)
    reply.header('x-store', store.mode)
    return configView()
  })
}

export default routes
