/** /v1/workspaces: agents and dispatchers report status; dashboards read it (API §3). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime, Nullable } from '../store/core/schema.js'
import { Type, type Static } from 'typebox'
import { AUTH_RESPONSES, FormatQuery, IfMatchHeaders, ListQuery, Page, STORE_NOTE, orTextTable, problem } from './schemas.js'
import { AGENT_PATTERN, NAME_PATTERN, POOL_PATTERN, StatusSchema, WorkspaceParamsSchema, WorkspaceReportSchema, WorkspaceSchema } from '../store/workspaces/model.js'
import { nextPageNote, type Table } from '../shared/text-table.js'
import { SCAN_BUDGET } from '../store/workspaces/workspaces.js'
import { DEFAULT_PAGE, heartbeat, workspaceOf } from '../store/workspaces/answers.js'

export const ListWorkspacesQuery = Type.Object({
  status: Type.Optional(StatusSchema),
  pool: Type.Optional(Type.String({ pattern: POOL_PATTERN, description: 'Agent pool (base), e.g. `codex`.' })),
  agent: Type.Optional(Type.String({ pattern: AGENT_PATTERN, description: 'Exact agent string, e.g. `codex:gpt-5.4`.' })),
  org: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
  repo: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
  ...ListQuery,
  ...FormatQuery
}, { additionalProperties: false })

export const WorkspacePage = Page(WorkspaceSchema)

// `*`, or a list of entity tags (RFC 9110): anything else is a 400 rather than a condition that never holds.
const ENTITY_TAGS = '^\\s*(\\*|(W/)?"[^"]*"(\\s*,\\s*(W/)?"[^"]*")*)\\s*$'

const ReportHeaders = Type.Object({
  ...IfMatchHeaders.properties,
  'if-none-match': Type.Optional(Type.String({
    maxLength: 1024,
    pattern: ENTITY_TAGS,
    description: '`*`: create only, 412 when the workspace exists (two runners never both take a new workspace). A list of ETags: 412 when the stored record has one of them.'
  }))
})

export function workspaceTable (page: Static<typeof WorkspacePage>): Table[] {
  return [{
    columns: ['NAME', 'STATUS', 'AGENT', 'RUNS', 'PRIORITY', 'UPDATED_AT', 'TASK'],
    rows: page.items.map((w) => [w.name, w.status, w.agent, w.runs, w.priority, w.updated_at, w.task]),
    note: nextPageNote(page.next_cursor)
  }]
}

export const HeartbeatBody = Type.Object({
  runs: Type.Optional(Type.Integer({ minimum: 0, description: 'The run the agent belongs to.' }))
}, { additionalProperties: false, description: 'Optional; an empty or absent body is fine.' })

export const HeartbeatAnswer = Type.Object({
  name: Type.String(),
  status: Type.Literal('running'),
  runs: Type.Integer(),
  heartbeat_at: DateTime(),
  lease_expires_at: Nullable(DateTime(), 'When the reaper fails it without another heartbeat; null when leases are off.')
}, { description: 'Alive.' })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { workspaces } = app.service

  app.put('/v1/workspaces/:org/:repo/:leaf', {
    config: { scope: 'write' },
    schema: {
      operationId: 'reportWorkspace',
      tags: ['workspaces'],
      summary: 'Report the whole status of a workspace',
      description: 'Upserts the registry record, keeps a queue entry exactly while `queued`, refreshes the pool snapshot, records an event and rewrites `status.json` when the workspace folder exists, all answered only once stored. A `runs` lower than the stored one is refused with 409 `stale_run`, and so is the same run after it was reaped, except for that run\'s own outcome with `ended_at` (a finished status): it overrules the reap, and the run history counts it instead. Going back to `running` from a finished state needs a higher `runs`.' + STORE_NOTE,
      params: WorkspaceParamsSchema,
      headers: ReportHeaders,
      body: WorkspaceReportSchema,
      response: {
        200: { ...WorkspaceSchema, description: 'Updated.' },
        201: { ...WorkspaceSchema, description: 'Created.' },
        400: problem('Invalid name (`invalid_name`) or body (`validation_failed`, each bad field listed).'),
        ...AUTH_RESPONSES,
        409: problem('`stale_run` (a late report from an earlier or reaped run) or `illegal_transition`.'),
        412: problem('`If-Match` does not match the stored record, or `If-None-Match` does (`*`: the workspace exists). Nothing was changed.')
      }
    }
  }, async (request, reply) => {
    const { tracked, created, store } = await workspaces.report(request.params, request.body, request.headers['if-match'], request.headers['if-none-match'])
    return reply.code(created ? 201 : 200).header('etag', tracked.etag).header('x-store', store.mode)
      .type('application/json').send(tracked.json)
  })

  app.get('/v1/workspaces/:org/:repo/:leaf', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getWorkspace',
      tags: ['workspaces'],
      summary: 'Read one workspace',
      params: WorkspaceParamsSchema,
      response: {
        200: { ...WorkspaceSchema, description: 'The record; its `ETag` header can be sent back as `If-Match`.' },
        400: problem('Invalid name.'),
        ...AUTH_RESPONSES,
        404: problem('Unknown workspace.')
      }
    }
  }, async (request, reply) => {
    const tracked = workspaceOf(workspaces, request.params)
    return reply.header('etag', tracked.etag).type('application/json').send(tracked.json)
  })

  app.get('/v1/workspaces', {
    config: { scope: 'read', table: workspaceTable },
    schema: {
      operationId: 'listWorkspaces',
      tags: ['workspaces'],
      summary: 'List workspaces in name order, with filters',
      description: `One page examines at most ${SCAN_BUDGET.toLocaleString('en-US')} workspaces, so a filter that matches few of them answers a page with fewer than \`limit\` items (possibly none) and a \`next_cursor\`: follow the cursor until it is null.`,
      querystring: ListWorkspacesQuery,
      response: {
        200: orTextTable(WorkspacePage, 'A page of records.'),
        400: problem('Invalid filter or cursor.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const { limit, cursor, ...filter } = request.query
    return reply.type('application/json').send(workspaces.page(filter, limit ?? DEFAULT_PAGE, cursor, app.config.pageMaxBytes))
  })

  app.post('/v1/workspaces/:org/:repo/:leaf/heartbeat', {
    config: { scope: 'write' },
    // A bare `curl -X POST …/heartbeat` carries no body at all: treat it as an empty object.
    // Only an absent body counts as `{}`: a JSON `null` is a wrong body (it used to be taken as `{}` and acted on).
    preValidation: (request, _reply, done) => {
      if (request.body === undefined) request.body = {}
      done()
    },
    schema: {
      operationId: 'heartbeatWorkspace',
      tags: ['workspaces'],
      summary: 'Keep a running workspace alive',
      description: 'Renews the lease of a running workspace. 409 `not_running` tells an agent it was reaped or has finished; with `runs`, a heartbeat from another run is 409 `stale_run`. The lease lives in memory: a restarted service starts every lease afresh, so a heartbeat is answered without waiting for the disk, and `X-Store` only says whether the store is `ok` or `degraded`.',
      params: WorkspaceParamsSchema,
      body: HeartbeatBody,
      response: {
        200: HeartbeatAnswer,
        400: problem('Invalid name or body.'),
        ...AUTH_RESPONSES,
        404: problem('Unknown workspace.'),
        409: problem('`not_running` (finished or reaped) or `stale_run`.')
      }
    }
  }, async (request, reply) => {
    const { answer, store } = heartbeat(workspaces, app.service.reaper.leaseS, request.params, request.body.runs)
    reply.header('x-store', store.mode)
    return answer
  })

  app.delete('/v1/workspaces/:org/:repo/:leaf', {
    config: { scope: 'write' },
    schema: {
      operationId: 'deleteWorkspace',
      tags: ['workspaces'],
      summary: 'Stop tracking a workspace',
      description: 'Answers 204 whether or not the workspace was tracked; deleting an unknown one changes nothing.' + STORE_NOTE,
      params: WorkspaceParamsSchema,
      headers: IfMatchHeaders,
      response: {
        204: { description: 'Not tracked any more.', type: 'null' },
        400: problem('Invalid name.'),
        ...AUTH_RESPONSES,
        412: problem('`If-Match` does not match the stored record.')
      }
    }
  }, async (request, reply) => {
    const { store } = await workspaces.remove(request.params, request.headers['if-match'])
    return reply.code(204).header('x-store', store.mode).send()
  })
}

export default routes
