import { Type, type Static } from 'typebox'
import { DateTime } from '../core/schema.js'

/** QA buffer names (API §7): a buffer's name becomes its file name, so it never holds a separator and never starts with a dot. */
export const BUFFER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
/** A journal's workspace tag: a workspace name `org/repo/leaf`, or a single name (a buffer's, when none was given). */
export const WORKSPACE_TAG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,2}$'
export const BUFFER_NAME = new RegExp(BUFFER_NAME_PATTERN)

export const AggregateSchema = Type.Record(Type.String(), Type.Integer(), { description: 'Entries per kind.' })

/** An open buffer, as a read of it answers. */
export const BufferSchema = Type.Object({
  name: Type.String(),
  workspace: Type.String({ description: 'The journal tag: the workspace the cycle belongs to (the buffer name when none was given).' }),
  count: Type.Integer({ description: 'Entries in the buffer.' }),
  aggregate: AggregateSchema,
  created_at: DateTime()
}, { description: 'An open buffer.' })
export type BufferView = Static<typeof BufferSchema>

/** A finding as a cycle added it, e.g. `{tool, file, line, code, severity, message}`: any JSON object. */
export const FindingSchema = Type.Record(Type.String(), Type.Unknown(), { description: 'A finding as the cycle added it, e.g. `{tool, file, line, code, severity, message}`.' })
export type Finding = Static<typeof FindingSchema>

/** One committed cycle, shaped like go-store's journal_entries row: measurement, tags, fields. */
export const JournalRowSchema = Type.Object({
  id: Type.Integer({ description: 'Grows by one per committed cycle, across restarts.' }),
  measurement: Type.String({ description: 'The buffer name.' }),
  tags: Type.Object({ workspace: Type.String() }),
  fields: Type.Object({
    aggregate: AggregateSchema,
    findings: Type.Array(FindingSchema, { description: 'The data of the buffer\'s `finding` entries, in the order they were added.' })
  }),
  committed_at: DateTime()
}, { description: 'One committed cycle.' })
export type JournalRow = Static<typeof JournalRowSchema>

export const JournalDiffSchema = Type.Object({
  workspace: Type.String(),
  window: Type.Integer({ description: 'Cycles asked for.' }),
  cycles: Type.Array(Type.Object({
    id: Type.Integer(),
    measurement: Type.String(),
    committed_at: DateTime()
  }), { description: 'The cycles compared, newest first (at most `window`); the first is the latest.' }),
  new: Type.Array(FindingSchema, { description: 'In the latest cycle, not in the one before it.' }),
  resolved: Type.Array(FindingSchema, { description: 'In the cycle before the latest, not in the latest.' }),
  persistent: Type.Array(FindingSchema, { description: 'In every cycle compared.' })
})
export type JournalDiff = Static<typeof JournalDiffSchema>
export type FindingsDiff = Pick<JournalDiff, 'new' | 'resolved' | 'persistent'>
