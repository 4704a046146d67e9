/** The workspace domain: names, statuses, the stored record and the report (API §2–3). The HTTP schemas are built from these. */
import { DateTime } from '../core/schema.js'
import { Type, type Static } from 'typebox'

export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'
/** A pool is an agent's base: `codex` for `codex:gpt-5.4`. */
export const POOL_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
export const AGENT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(:[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$'

export const STATUSES = ['queued', 'running', 'completed', 'failed', 'blocked', 'merged', 'ready-for-review', 'rejected'] as const
export type Status = typeof STATUSES[number]

const Segment = (description: string) => Type.String({ pattern: NAME_PATTERN, description })

export const StatusSchema = Type.Enum(STATUSES, { description: 'Lifecycle state of the workspace.' })

export const WorkspaceParamsSchema = Type.Object({
  org: Segment('Forge organisation, e.g. `core`.'),
  repo: Segment('Repository, e.g. `go-io`.'),
  leaf: Segment('Workspace leaf, e.g. `task-5`.')
})
export type WorkspaceParams = Static<typeof WorkspaceParamsSchema>

/** Why the reaper failed a running workspace: its local process is gone or was replaced, or its lease ran out. */
export const REAP_REASONS = ['pid_dead', 'pid_reused', 'lease_expired'] as const

export const ReapedSchema = Type.Object({
  reason: Type.Enum(REAP_REASONS, { description: 'Why the reaper failed the workspace.' }),
  evidence: Type.String({ description: 'What the reaper saw.' }),
  at: DateTime('When it was reaped.')
})

// Fields an agent may report, shared by the record and the PUT body.
const reportFields = {
  task: Type.Optional(Type.String({ maxLength: 10000, description: 'Task text.' })),
  branch: Type.Optional(Type.String({ maxLength: 255, description: 'Working branch.' })),
  issue: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Forge issue number.' })),
  pid: Type.Optional(Type.Integer({ minimum: -1, maximum: 2147483647, description: 'OS process id of the agent while it runs (-1: a reserved slot).' })),
  pid_started_at: Type.Optional(DateTime('Start time of that process, to tell a reused PID from the agent.')),
  host: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Host the agent runs on; absent means this service's host." })),
  process_id: Type.Optional(Type.String({ maxLength: 255, description: 'Managed process id, when a supervisor runs the agent.' })),
  question: Type.Optional(Type.String({ maxLength: 10000, description: 'Reason or question (blocked, failed).' })),
  priority: Type.Optional(Type.Integer({ minimum: -1000000, maximum: 1000000, description: 'Drain priority; higher first. Default 0.' })),
  pr_url: Type.Optional(Type.String({ maxLength: 2048, description: 'Pull request URL.' })),
  note: Type.Optional(Type.String({ maxLength: 10000, description: 'Free-form note.' })),
  runtime: Type.Optional(Type.String({ maxLength: 64, description: 'Runtime the agent runs in (e.g. `vz`).' })),
  started_at: Type.Optional(DateTime('When the dispatch started (or was queued). Defaults to the stored value for the same run, else now.'))
}

const Runs = Type.Integer({ minimum: 0, maximum: 1000000000, description: 'How often the workspace was spawned; fences late writers from earlier runs.' })
const Agent = Type.String({ pattern: AGENT_PATTERN, description: 'Agent string `base[:model]`, e.g. `codex:gpt-5.4`.' })

export const WorkspaceReportSchema = Type.Object({
  status: StatusSchema,
  agent: Agent,
  runs: Runs,
  ...reportFields,
  ended_at: Type.Optional(DateTime('When the run ended, by the agent\'s clock: only with a status other than `running`. Dates the run in the run history, and lets the run\'s own outcome overrule a reap of the same run (API §3). At most a minute ahead of the service\'s clock and not before the run started (with the same minute of skew); not stored in the record.'))
}, { additionalProperties: false, description: 'A full status report for one workspace.' })
export type WorkspaceReport = Static<typeof WorkspaceReportSchema>

/**
 * What a status.json on the volume must hold to be read (API §8.1): the Go agent's WorkspaceStatus or our
 * own record. Every field a report carries has the report's bounds (a file is a report that arrived by
 * the volume); `runs` may be absent (Go's files before it had one), and the times and verdict a record
 * carries are checked as times. Other fields are allowed: other programs write these files too.
 */
export const StatusFileSchema = Type.Object({
  status: StatusSchema,
  agent: Agent,
  runs: Type.Optional(Runs),
  ...reportFields,
  queued_at: Type.Optional(DateTime('When it entered `queued`.')),
  updated_at: Type.Optional(DateTime('When the file was written; absent, it proves nothing by its date.')),
  heartbeat_at: Type.Optional(DateTime('Last report or heartbeat while running.')),
  reaped: Type.Optional(ReapedSchema)
})
export type StatusFile = Static<typeof StatusFileSchema>

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
  started_at: DateTime('When the dispatch started (or was queued).'),
  queued_at: Type.Optional(DateTime('When it entered `queued` (only while queued).')),
  updated_at: DateTime('Stamped by the server on every report.'),
  heartbeat_at: Type.Optional(DateTime('Last report or heartbeat while running.')),
  reaped: Type.Optional(ReapedSchema)
}, { description: 'The stored record of a workspace.' })
export type Workspace = Static<typeof WorkspaceSchema>

const SEGMENT = new RegExp(NAME_PATTERN)

/** True when `name` is a valid path segment per API §2 (so never `.`, `..`, empty, or containing a separator). */
export function isSegment (name: string): boolean {
  return SEGMENT.test(name) && name !== '.' && name !== '..'
}

/** A pool's counts as the concurrency group stores them (API §5): kept as workspaces change. */
export const PoolSnapshotSchema = Type.Object({
  running: Type.Integer({ description: 'Workspaces of the pool with status `running`.' }),
  tracked: Type.Integer({ description: 'Workspaces of the pool, any status.' }),
  snapshot_at: DateTime('When the pool last changed.')
})
export type PoolSnapshot = Static<typeof PoolSnapshotSchema>
