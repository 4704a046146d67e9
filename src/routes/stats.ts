/** GET /v1/stats/runs: run statistics from the run history, as JSON or a text table. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { STATS_GROUPINGS, runStats } from '../store/history/stats.js'
import { parseRange } from '../store/history/time-range.js'
import { DomainError } from '../store/core/errors.js'
import { AUTH_RESPONSES, FormatQuery, orTextTable, problem } from './schemas.js'
import { AGENT_PATTERN, NAME_PATTERN } from '../store/workspaces/model.js'
import type { Table } from '../boot/text-table.js'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
// Hours or days one answer may group by: each is a group to key and sort; 10 years by hour (87,600) took
// seconds of the analytics lane per read. 1,000 covers 41 days by hour, or 2.7 years by day.
const MAX_TIME_GROUPS = 1000
const GROUP_MS: Partial<Record<string, number>> = { hour: HOUR_MS, day: DAY_MS }

const RunStatsSchema = Type.Object({
  key: Type.String({ description: 'The group: a pool, agent, model, `org/repo`, host, hour (`2026-11-30T14:00:00Z`) or day (`2026-11-30`), in UTC; `all` without `by`. An empty string is a model or host that was not reported.' }),
  count: Type.Integer({ description: 'Runs that ended in the range.' }),
  completed: Type.Integer({ description: 'Ended `completed`, `merged` or `ready-for-review`: the work was delivered.' }),
  failed: Type.Integer({ description: 'Ended `failed` by a report.' }),
  reaped: Type.Integer({ description: 'Failed by the reaper (dead or reused PID, expired lease).' }),
  other: Type.Integer({ description: 'Ended otherwise: `blocked`, `rejected`, back to `queued`, `superseded` by a higher run, or `deleted` while running.' }),
  success_rate: Type.Number({ description: '`completed / count`, 0 to 1.' }),
  p50_s: Type.Number({ description: 'Median run duration in seconds (interpolated).' }),
  p95_s: Type.Number({ description: '95th percentile of the run duration in seconds (interpolated).' }),
  max_s: Type.Number({ description: 'Longest run in seconds.' })
})

const StatsSchema = Type.Object({
  since: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
  by: Type.Union([Type.Enum(STATS_GROUPINGS), Type.Null()]),
  groups: Type.Array(RunStatsSchema, { description: 'One per group with at least one run in the range, in key order (hours and days without runs are absent).' })
})
type Stats = Static<typeof StatsSchema>

const fixed = (n: number): string => n.toFixed(1)

function statsTable (s: Stats): Table[] {
  return [{
    columns: [(s.by ?? 'all').toUpperCase(), 'COUNT', 'COMPLETED', 'FAILED', 'REAPED', 'OTHER', 'SUCCESS', 'P50_S', 'P95_S', 'MAX_S'],
    rows: s.groups.map((g) => [g.key, g.count, g.completed, g.failed, g.reaped, g.other, `${(g.success_rate * 100).toFixed(1)}%`, fixed(g.p50_s), fixed(g.p95_s), fixed(g.max_s)]),
    note: `runs ended from ${s.since} until ${s.until}`
  }]
}

const Filter = (pattern: string, description: string) => Type.Optional(Type.String({ pattern, description }))

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { lane } = app.history
  const { clock } = app.state

  app.get('/v1/stats/runs', {
    config: { scope: 'read', table: statsTable },
    schema: {
      operationId: 'getRunStats',
      tags: ['history'],
      summary: 'Run statistics: counts by outcome, success rate and duration percentiles, per group',
      description: 'Computed by DuckDB over the run history: every run that ended (left `running`) in `[since, until)`. Example: success rate and median duration per model over the last 7 days is `?by=model`. With `by=hour` or `by=day` the window spans at most 1,000 of them.',
      querystring: Type.Object({
        since: Type.Optional(Type.String({ format: 'date-time', description: 'Runs that ended at or after this time. Default: 7 days before `until`.' })),
        until: Type.Optional(Type.String({ format: 'date-time', description: 'Runs that ended before this time. Default: now.' })),
        by: Type.Optional(Type.Enum(STATS_GROUPINGS, { description: 'Group by this; without it, one group `all`.' })),
        pool: Filter(NAME_PATTERN, 'Only this pool.'),
        agent: Filter(AGENT_PATTERN, 'Only this agent string, e.g. `codex:gpt-5.4`.'),
        model: Filter(NAME_PATTERN, 'Only this model (the part of the agent after `:`).'),
        org: Filter(NAME_PATTERN, 'Only this organisation.'),
        repo: Filter(NAME_PATTERN, 'Only this repository (with `org` to tell same-named repositories apart).'),
        host: Filter('^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$', 'Only runs on this host (a host name or address).'),
        ...FormatQuery
      }, { additionalProperties: false }),
      response: {
        200: orTextTable(StatsSchema, 'Statistics per group.'),
        400: problem('Invalid parameter, `since` not before `until`, or a window of more than 1,000 hours (`by=hour`) or days (`by=day`).'),
        503: problem('The store is unavailable, or too many analytics calls are waiting.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request) => {
    const { since: sinceText, until: untilText, by, format: _format, ...filters } = request.query
    const range = parseRange(sinceText, untilText)
    const until = range.until ?? clock()
    const since = range.since ?? new Date(until.getTime() - 7 * DAY_MS)
    if (since >= until) throw new DomainError('invalid_range', '`since` must be before `until`')
    const groupMs = GROUP_MS[by ?? '']
    if (groupMs !== undefined && (until.getTime() - since.getTime()) / groupMs > MAX_TIME_GROUPS) {
      throw new DomainError('invalid_range', `by=${String(by)} groups at most ${MAX_TIME_GROUPS.toLocaleString('en-US')} ${String(by)}s: shorten the window (since, until)${by === 'hour' ? ' or group by day' : ''}`)
    }
    const groups = await lane.run((conn) => runStats(conn, { since, until, by, filters }))
    return { since: since.toISOString(), until: until.toISOString(), by: by ?? null, groups }
  })
}

export default routes
