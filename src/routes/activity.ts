/**
 * The past as pictures need it: running workspaces per pool over time and finished runs per hour, both derived
 * from the stored event log (src/store/event-queries.ts), for the dashboard's charts and anyone else.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime, Nullable } from '../store/core/schema.js'
import { Type } from 'typebox'
import { DomainError } from '../store/core/errors.js'
import { readEventsAfter } from '../store/events/event-store.js'
import { eventStore, finishedPerHour, runningSeries } from '../store/events/queries.js'
import { AUTH_RESPONSES, problem } from './schemas.js'

const HOUR_MS = 3_600_000
// A window is at most a month, in at most 1,000 buckets: every answer stays small whatever a client asks.
const MAX_RANGE_MS = 31 * 24 * HOUR_MS
const MAX_BUCKETS = 1000
const DEFAULT_BUCKETS = 360

const RangeQuery = {
  since: Type.Optional(DateTime('Start of the window; default: `until` minus 6 hours (pools) or 24 hours (finished).')),
  until: Type.Optional(DateTime('End of the window; default now.'))
}

const RunningSeriesSchema = Type.Object({
  since: DateTime('Start of the first bucket.'),
  until: DateTime('End of the window.'),
  step_s: Type.Integer({ description: 'Bucket length in seconds.' }),
  times: Type.Array(DateTime('A bucket start.'), { description: 'Bucket starts, oldest first.' }),
  pools: Type.Record(Type.String(), Type.Array(Type.Integer()), { description: 'Per pool, the most workspaces running at once in each bucket (one number per entry of `times`).' }),
  first_event_at: Nullable(DateTime('The oldest stored event.'), 'When the oldest stored event happened: the series knows nothing before it (a chart of a young service starts there). Null while the log is empty.')
})

const FinishedSchema = Type.Object({
  items: Type.Array(Type.Object({
    hour: DateTime('The start of the hour.'),
    count: Type.Integer({ description: 'Runs that left `running` in this hour.' }),
    completed: Type.Integer(),
    failed: Type.Integer({ description: 'Failed as reported (a reaped run counts under `reaped`).' }),
    reaped: Type.Integer({ description: 'Failed by the reaper (ghosts).' }),
    other: Type.Integer({ description: 'Left running for any other state: blocked, ready-for-review, merged, queued, deleted.' })
  }), { description: 'Hours with at least one finished run, oldest first.' })
})

const invalidRange = (message: string) => new DomainError('validation_failed', message, [{ field: 'query', message }])

/** The window asked for, checked against the bounds; `defaultMs` is its length when `since` is absent. */
function window (q: { since?: string, until?: string }, now: Date, defaultMs: number): { sinceMs: number, untilMs: number } {
  const untilMs = q.until === undefined ? now.getTime() : Date.parse(q.until)
  const sinceMs = q.since === undefined ? untilMs - defaultMs : Date.parse(q.since)
  if (!(sinceMs < untilMs)) throw invalidRange('`since` must be before `until`')
  if (untilMs - sinceMs > MAX_RANGE_MS) throw invalidRange('the window is at most 31 days')
  return { sinceMs, untilMs }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { pools, clock } = app.service
  const database = async () => eventStore(await app.service.readStore())

  app.get('/v1/stats/pools', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getPoolSeries',
      tags: ['pools'],
      summary: 'Running workspaces per pool over time, from the event log',
      description: 'Each bucket holds the most workspaces running at once in it, per pool. Derived from the stored event log and anchored on the current counts, so the series reaches back as far as the log does (`EVENT_RETENTION`).',
      querystring: Type.Object({
        ...RangeQuery,
        step_s: Type.Optional(Type.Integer({ minimum: 10, maximum: 86400, description: 'Bucket length; default: the window in 360 buckets (at least 10 s).' }))
      }, { additionalProperties: false }),
      response: { 200: RunningSeriesSchema, 400: problem('A malformed time, `since` not before `until`, a window over 31 days or over 1,000 buckets.'), ...AUTH_RESPONSES, 503: problem('The store is not open.') }
    }
  }, async (request) => {
    const now = clock()
    const asked = window(request.query, now, 6 * HOUR_MS)
    const stepMs = (request.query.step_s ?? Math.max(10, Math.ceil((asked.untilMs - asked.sinceMs) / DEFAULT_BUCKETS / 1000))) * 1000
    // A default window starts on a bucket boundary, so the chart's ticks land on round times.
    const sinceMs = request.query.since === undefined ? Math.floor(asked.sinceMs / stepMs) * stepMs : asked.sinceMs
    const untilMs = asked.untilMs
    if ((untilMs - sinceMs) / stepMs > MAX_BUCKETS) throw invalidRange('at most 1,000 buckets: raise `step_s` or shorten the window')
    const current = new Map(pools.names().map((p) => [p, pools.view(p, now).running]))
    const db = await database()
    const series = await runningSeries(db, current, sinceMs, untilMs, stepMs)
    const [oldest] = await readEventsAfter(db, 0, 1)
    return {
      since: new Date(sinceMs).toISOString(),
      until: new Date(untilMs).toISOString(),
      step_s: stepMs / 1000,
      times: series.times.map((t) => new Date(t).toISOString()),
      pools: series.pools,
      first_event_at: oldest?.at ?? null
    }
  })

  app.get('/v1/stats/finished', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getFinishedPerHour',
      tags: ['workspaces'],
      summary: 'Runs that finished per hour, by outcome, from the event log',
      description: 'A run finishes when its workspace leaves `running` (a report, a reap or a delete). Reaches back as far as the stored event log does (`EVENT_RETENTION`).',
      querystring: Type.Object(RangeQuery, { additionalProperties: false }),
      response: { 200: FinishedSchema, 400: problem('A malformed time, `since` not before `until`, or a window over 31 days.'), ...AUTH_RESPONSES, 503: problem('The store is not open.') }
    }
  }, async (request) => {
    const { sinceMs, untilMs } = window(request.query, clock(), 24 * HOUR_MS)
    return { items: await finishedPerHour(await database(), sinceMs, untilMs) }
  })
}

export default routes
