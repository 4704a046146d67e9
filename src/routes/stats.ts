/** GET /v1/stats/runs: run statistics from the run history, as JSON or a text table. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime } from '../store/core/schema.js'
import { Type, type Static } from 'typebox'
import { RunStatsAnswerSchema, STATS_GROUPINGS } from '../store/history/model.js'
import { statsAnswer } from '../store/history/stats-answer.js'
import { AUTH_RESPONSES, FormatQuery, orTextTable, problem } from './schemas.js'
import { AGENT_PATTERN, NAME_PATTERN } from '../store/workspaces/model.js'
import type { Table } from '../shared/text-table.js'

type Stats = Static<typeof RunStatsAnswerSchema>

const fixed = (n: number): string => n.toFixed(1)

export function statsTable (s: Stats): Table[] {
  return [{
    columns: [(s.by ?? 'all').toUpperCase(), 'COUNT', 'COMPLETED', 'FAILED', 'REAPED', 'OTHER', 'SUCCESS', 'P50_S', 'P95_S', 'MAX_S'],
    rows: s.groups.map((g) => [g.key, g.count, g.completed, g.failed, g.reaped, g.other, `${(g.success_rate * 100).toFixed(1)}%`, fixed(g.p50_s), fixed(g.p95_s), fixed(g.max_s)]),
    note: `runs ended from ${s.since} until ${s.until}`
  }]
}

const Filter = (pattern: string, description: string) => Type.Optional(Type.String({ pattern, description }))

export const StatsQuery = Type.Object({
  since: Type.Optional(DateTime('Runs that ended at or after this time. Default: 7 days before `until`.')),
  until: Type.Optional(DateTime('Runs that ended before this time. Default: now.')),
  by: Type.Optional(Type.Enum(STATS_GROUPINGS, { description: 'Group by this; without it, one group `all`.' })),
  pool: Filter(NAME_PATTERN, 'Only this pool.'),
  agent: Filter(AGENT_PATTERN, 'Only this agent string, e.g. `codex:gpt-5.4`.'),
  model: Filter(NAME_PATTERN, 'Only this model (the part of the agent after `:`).'),
  org: Filter(NAME_PATTERN, 'Only this organisation.'),
  repo: Filter(NAME_PATTERN, 'Only this repository (with `org` to tell same-named repositories apart).'),
  host: Filter('^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$', 'Only runs on this host (a host name or address).'),
  ...FormatQuery
}, { additionalProperties: false })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { lane } = app.service.history
  const { clock } = app.service

  app.get('/v1/stats/runs', {
    config: { scope: 'read', table: statsTable },
    schema: {
      operationId: 'getRunStats',
      tags: ['history'],
      summary: 'Run statistics: counts by outcome, success rate and duration percentiles, per group',
      description: 'Computed by DuckDB over the run history: every run that ended (left `running`) in `[since, until)`. Example: success rate and median duration per model over the last 7 days is `?by=model`.',
      querystring: StatsQuery,
      response: {
        200: orTextTable(RunStatsAnswerSchema, 'Statistics per group.'),
        400: problem('Invalid parameter, or `since` not before `until`.'),
        503: problem('The store is unavailable, or too many analytics calls are waiting.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request) => {
    const { format: _format, ...query } = request.query
    return await statsAnswer(lane, clock, query)
  })
}

export default routes
