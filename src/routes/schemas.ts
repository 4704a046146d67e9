/** Shared TypeBox schemas: names, the workspace record and report, problems, lists. They feed validation, serialisation and OpenAPI. */
import { Type, type Static, type TSchema } from 'typebox'

export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'
export const BUFFER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
/** A journal's workspace tag: a workspace name `org/repo/leaf`, or a single name (a buffer's, when none was given). */
export const WORKSPACE_TAG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,2}$'
export const AGENT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(:[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$'

export const STATUSES = ['queued', 'running', 'completed', 'failed', 'blocked', 'merged', 'ready-for-review', 'rejected'] as const
export type Status = typeof STATUSES[number]

const Segment = (description: string) => Type.String({ pattern: NAME_PATTERN, description })
const Time = (description: string) => Type.String({ format: 'date-time', description })

export const StatusSchema = Type.Enum(STATUSES, { description: 'Lifecycle state of the workspace.' })

export const WorkspaceParamsSchema = Type.Object({
  org: Segment('Forge organisation, e.g. `core`.'),
  repo: Segment('Repository, e.g. `go-io`.'),
  leaf: Segment('Workspace leaf, e.g. `task-5`.')
})
export type WorkspaceParams = Static<typeof WorkspaceParamsSchema>

export const ReapedSchema = Type.Object({
  reason: Type.Union([Type.Literal('pid_dead'), Type.Literal('pid_reused'), Type.Literal('lease_expired')], { description: 'Why the reaper failed the workspace.' }),
  evidence: Type.String({ description: 'What the reaper saw.' }),
  at: Time('When it was reaped.')
})

// Fields an agent may report, shared by the record and the PUT body.
const reportFields = {
  task: Type.Optional(Type.String({ maxLength: 10000, description: 'Task text.' })),
  branch: Type.Optional(Type.String({ maxLength: 255, description: 'Working branch.' })),
  issue: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Forge issue number.' })),
  pid: Type.Optional(Type.Integer({ minimum: -1, maximum: 2147483647, description: 'OS process id of the agent while it runs (-1: a reserved slot).' })),
  pid_started_at: Type.Optional(Time('Start time of that process, to tell a reused PID from the agent.')),
  host: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Host the agent runs on; absent means this service's host." })),
  process_id: Type.Optional(Type.String({ maxLength: 255, description: 'Managed process id, when a supervisor runs the agent.' })),
  question: Type.Optional(Type.String({ maxLength: 10000, description: 'Reason or question (blocked, failed).' })),
  priority: Type.Optional(Type.Integer({ minimum: -1000000, maximum: 1000000, description: 'Drain priority; higher first. Default 0.' })),
  pr_url: Type.Optional(Type.String({ maxLength: 2048, description: 'Pull request URL.' })),
  note: Type.Optional(Type.String({ maxLength: 10000, description: 'Free-form note.' })),
  runtime: Type.Optional(Type.String({ maxLength: 64, description: 'Runtime the agent runs in (e.g. `vz`).' })),
  started_at: Type.Optional(Time('When the dispatch started (or was queued). Defaults to the stored value for the same run, else now.'))
}

export const WorkspaceReportSchema = Type.Object({
  status: StatusSchema,
  agent: Type.String({ pattern: AGENT_PATTERN, description: 'Agent string `base[:model]`, e.g. `codex:gpt-5.4`.' }),
  runs: Type.Integer({ minimum: 0, maximum: 1000000000, description: 'How often the workspace was spawned; fences late writers from earlier runs.' }),
  ...reportFields
}, { additionalProperties: false, description: 'A full status report for one workspace.' })
export type WorkspaceReport = Static<typeof WorkspaceReportSchema>

export const WorkspaceSchema = Type.Object({
  name: Type.String({ description: '`{org}/{repo}/{leaf}`.' }),
  org: Type.String(),
  repo: Type.String(),
  leaf: Type.String(),
  status: StatusSchema,
  agent: Type.String(),
  pool: Type.String({ description: 'The agent base: `codex` for `codex:gpt-5.4`.' }),
  runs: Type.Integer(),
  ...reportFields,
  task: Type.String({ description: 'Task text.' }),
  priority: Type.Integer({ description: 'Drain priority; higher first.' }),
  started_at: Time('When the dispatch started (or was queued).'),
  queued_at: Type.Optional(Time('When it entered `queued` (only while queued).')),
  updated_at: Time('Stamped by the server on every report.'),
  heartbeat_at: Type.Optional(Time('Last report or heartbeat while running.')),
  reaped: Type.Optional(ReapedSchema)
}, { description: 'The stored record of a workspace.' })
export type Workspace = Static<typeof WorkspaceSchema>

export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'A URI naming the problem type.' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: 'Stable snake_case code, e.g. `not_found`, `stale_run`.' }),
  errors: Type.Optional(Type.Array(Type.Object({
    field: Type.String({ description: 'Where: `body.runs`, `params.org`, `query.limit`, `header.if-match`.' }),
    message: Type.String()
  })))
}, { $id: 'Problem', description: 'RFC 9457 problem details.' })

/** The problem+json response entry for a status, for a route's `response` map. */
export function problem (description: string) {
  return { description, content: { 'application/problem+json': { schema: Type.Ref('Problem') } } }
}

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Page size (max 1000).' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'Opaque cursor from `next_cursor`.' }))
}

/** The `format` query parameter of routes that can answer with a text table. */
export const FormatQuery = {
  format: Type.Optional(Type.Enum(['json', 'text'], { description: '`text`: an aligned text table instead of JSON, as `Accept: text/plain` asks too.' }))
}

/** A 200 response that is JSON, or an aligned text table when asked for (`Accept: text/plain` or `?format=text`). */
export function orTextTable<T extends TSchema> (schema: T, description: string) {
  return {
    description,
    content: {
      'application/json': { schema },
      'text/plain': { schema: Type.String({ description: 'The same data as aligned columns under a header line, for a terminal.' }) }
    }
  }
}

export function Page<T extends TSchema> (item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Cursor for the next page; null at the end.' })
  })
}

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 1024, description: 'Apply only if the stored resource still has this ETag (412 otherwise).' }))
})

/** Appended to the description of every route that writes to the store. */
export const STORE_NOTE = ' The `X-Store` header says `ok` (stored durably) or `degraded` (held in memory while the store is unavailable).'

/** The auth failures every protected route can answer. */
export const AUTH_RESPONSES = {
  401: problem('Missing or unknown bearer token.'),
  403: problem('The token lacks the scope this route needs.')
}
