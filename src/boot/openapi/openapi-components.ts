/**
 * Named component schemas for the OpenAPI document. Routes inline their TypeBox schemas, so the generated
 * document repeated the same workspace object in six places and client generators emitted six identical
 * types. Here every inline copy of a schema named below becomes a `$ref` to one `components.schemas` entry.
 * Matching is by structure, so a route keeps writing `{ ...WorkspaceSchema, description }` as before.
 */
import type { TSchema } from 'typebox'
import { PoolList } from '../../routes/pools.js'
import { QueueItemSchema, QueuePage } from '../../routes/queue.js'
import { Page } from '../../routes/schemas.js'
import { StatusSummarySchema } from '../../routes/status.js'
import { BufferSchema, JournalDiffSchema, JournalRowSchema } from '../../store/buffers/model.js'
import { AgentsConfigSchema } from '../../store/pools/agents-config.js'
import { PoolViewSchema } from '../../store/pools/model.js'
import { RecoverySchema } from '../../store/startup/report.js'
import { SyncAcceptedSchema, SyncItemSchema, SyncPushSchema, SyncStatusSchema } from '../../store/sync/model.js'
import { ReapedSchema, StatusSchema, WorkspaceReportSchema, WorkspaceSchema } from '../../store/workspaces/model.js'

/** Component name → schema; the larger ones first only for reading, matching does not depend on order. */
export const NAMED_SCHEMAS: Record<string, TSchema> = {
  Workspace: WorkspaceSchema,
  WorkspacePage: Page(WorkspaceSchema),
  WorkspaceReport: WorkspaceReportSchema,
  WorkspaceStatus: StatusSchema,
  Reaped: ReapedSchema,
  StatusSummary: StatusSummarySchema,
  Pool: PoolViewSchema,
  PoolList,
  AgentsConfig: AgentsConfigSchema,
  QueueItem: QueueItemSchema,
  QueuePage,
  SyncPush: SyncPushSchema,
  SyncAccepted: SyncAcceptedSchema,
  SyncItem: SyncItemSchema,
  SyncItemPage: Page(SyncItemSchema),
  SyncStatus: SyncStatusSchema,
  Buffer: BufferSchema,
  BufferPage: Page(BufferSchema),
  JournalRow: JournalRowSchema,
  JournalPage: Page(JournalRowSchema),
  JournalDiff: JournalDiffSchema,
  Recovery: RecoverySchema
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A key equal for two schemas that validate alike: object keys sorted, `description` and `$id` left out at the
 * top (a response's copy carries its own description), and `const` and a `patternProperties` of one pattern (a
 * TypeBox record) written as @fastify/swagger rewrites them: a one-value `enum` and `additionalProperties`.
 */
function signature (schema: unknown, top = true): string {
  if (Array.isArray(schema)) return `[${schema.map((s) => signature(s, false)).join(',')}]`
  if (!isObject(schema)) return JSON.stringify(schema)
  const entries = Object.entries(schema)
    .filter(([k]) => !(top && (k === 'description' || k === '$id')))
    .map(([k, v]): [string, unknown] => {
      if (k === 'const') return ['enum', [v]]
      if (k === 'patternProperties' && isObject(v) && Object.keys(v).length === 1) return ['additionalProperties', Object.values(v)[0]]
      return [k, v]
    })
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${signature(v, false)}`).join(',')}}`
}

/** Replaces inline copies of the named schemas in `doc` (an OpenAPI document) by `$ref`s, and adds the components. */
export function nameComponents<T extends Json> (doc: T, named: Record<string, TSchema> = NAMED_SCHEMAS): T {
  // TypeBox schemas carry symbols; their JSON form is what the document holds.
  const byShape = new Map(Object.entries(named).map(([name, schema]) => [signature(JSON.parse(JSON.stringify(schema))), name]))
  const components: Record<string, Json> = {}

  const visit = (node: unknown, inside?: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => visit(n, inside))
    if (!isObject(node)) return node
    const name = byShape.get(signature(node))
    if (name !== undefined && name !== inside) {
      if (components[name] === undefined) {
        const { description: _own, ...body } = node
        const declared = (named[name] as { description?: string }).description
        components[name] = visit(declared === undefined ? body : { ...body, description: declared }, name) as Json
      }
      // OpenAPI 3.1 lets a $ref keep its own description, so a response still says what it is.
      const description = node.description
      return typeof description === 'string' && description !== components[name]?.description ? { $ref: `#/components/schemas/${name}`, description } : { $ref: `#/components/schemas/${name}` }
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v, inside)]))
  }

  const paths = visit(doc.paths)
  const existing = isObject(doc.components) ? doc.components : {}
  const schemas = { ...(isObject(existing.schemas) ? existing.schemas : {}), ...components }
  return { ...doc, paths, components: { ...existing, schemas } }
}
