/** Snapshots for dashboards: the status summary and the per-pool concurrency group (API §3, §5). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime } from '../store/core/schema.js'
import { Type, type Static } from 'typebox'
import { AUTH_RESPONSES, FormatQuery, orTextTable, problem } from './schemas.js'
import { PoolSnapshotSchema, STATUSES } from '../store/workspaces/model.js'
import { BLOCKED_LIST, BLOCKED_SHOWN, statusSummary } from '../store/workspaces/answers.js'
import type { Table } from '../shared/text-table.js'

export const StatusSummarySchema = Type.Object({
  total: Type.Integer({ description: 'Workspaces tracked.' }),
  by_status: Type.Object(Object.fromEntries(STATUSES.map((s) => [s, Type.Integer()])), { description: 'Count per status, zeros included.' }),
  blocked: Type.Array(Type.Object({
    name: Type.String(),
    repo: Type.String(),
    agent: Type.String(),
    question: Type.String({ description: 'What the agent is blocked on.' }),
    updated_at: DateTime()
  }), { maxItems: BLOCKED_SHOWN, description: `The ${BLOCKED_SHOWN} most recently updated blocked workspaces, newest first; \`blocked_total\` counts them all.` }),
  blocked_total: Type.Integer({ description: 'Blocked workspaces, listed or not (the same as `by_status.blocked`).' }),
  blocked_list: Type.String({ description: `Where every blocked workspace is listed, paged: \`${BLOCKED_LIST}\`.` })
})

export function statusTable (s: Static<typeof StatusSummarySchema>): Table[] {
  return [
    { columns: ['STATUS', 'COUNT'], rows: [...Object.entries(s.by_status), ['total', s.total]] },
    {
      title: 'blocked:',
      columns: ['NAME', 'AGENT', 'QUESTION'],
      rows: s.blocked.map((b) => [b.name, b.agent, b.question]),
      note: s.blocked.length < s.blocked_total ? `${s.blocked.length} of ${s.blocked_total} shown (newest first); all: ${s.blocked_list}` : undefined
    }
  ]
}

const ConcurrencySchema = Type.Record(Type.String(), PoolSnapshotSchema, { description: 'Pools with at least one tracked workspace, keyed by pool (agent base).' })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { workspaces } = app.service
  let answered = { version: -1, json: '' }

  app.get('/v1/status', {
    config: { scope: 'read', table: statusTable },
    schema: {
      operationId: 'getStatus',
      tags: ['workspaces'],
      summary: 'Counts by status and the most recently blocked workspaces',
      description: `Answers from counts kept as workspaces change, so its cost does not grow with the fleet. \`blocked\` lists at most ${BLOCKED_SHOWN} workspaces, the most recently updated first; \`blocked_total\` counts them all and \`blocked_list\` (\`${BLOCKED_LIST}\`) pages through every one.`,
      querystring: Type.Object(FormatQuery, { additionalProperties: false }),
      response: { 200: orTextTable(StatusSummarySchema, 'Counts by status, zeros included, and the blocked workspaces.'), 400: problem('Invalid `format`.'), ...AUTH_RESPONSES }
    }
  }, async (_request, reply) => {
    // Built once per change of the workspaces (heartbeats change nothing here), then answered as it is.
    if (answered.version !== workspaces.version) answered = { version: workspaces.version, json: JSON.stringify(statusSummary(workspaces)) }
    return reply.type('application/json').send(answered.json)
  })

  app.get('/v1/concurrency', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getConcurrency',
      tags: ['pools'],
      summary: 'The concurrency snapshot group: running and tracked per pool',
      response: { 200: ConcurrencySchema, ...AUTH_RESPONSES }
    }
  }, async () => workspaces.concurrency())
}

export default routes
