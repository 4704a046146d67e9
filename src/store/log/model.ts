/** What start-up found in the change log, for GET /v1/recovery (`log`). */
import { Type, type Static } from 'typebox'
import { Nullable } from '../core/schema.js'

const TornSchema = Type.Object({
  segment: Type.String({ description: 'The file in `.core/log/`.' }),
  offset: Type.Integer({ description: 'Where its last whole record ends: the file was cut back to this length.' }),
  bytes: Type.Integer({ description: 'How many bytes were cut.' }),
  reason: Type.String({ description: 'What was wrong with them: `short_header` or `short_record` (a write a crash cut short), `bad_checksum` or `bad_header` (the last write, not whole).' })
}, { description: 'The end of the newest segment held no whole record (a write a crash cut short, never acknowledged): it was cut off.' })

const DamagedSchema = Type.Object({
  segment: Type.String({ description: 'The segment where replay stopped.' }),
  offset: Type.Integer({ description: 'The byte offset of the first record it could not take.' }),
  reason: Type.String({ description: '`bad_checksum`, `bad_header`, `short_header`, `short_record`, `out_of_order`, `undecodable`, or `missing_commits` (a gap: the store ends before the log resumes).' }),
  last_commit: Type.Integer({ description: 'The last commit replayed: the service continues from it.' }),
  moved_to: Type.String({ description: 'The folder (under the data folder) holding that segment and every later one, unchanged, for an operator.' }),
  segments: Type.Array(Type.String(), { description: 'The segments moved there.' })
}, { description: 'A record in the middle of the log was damaged (or records were missing). Replay stopped before it: what follows may depend on it, so none of it was applied.' })

const RefusedSchema = Type.Object({
  commit: Type.Integer(),
  source: Nullable(Type.String(), 'What made the change, when the writer knew.'),
  entries: Type.Array(Type.String(), { description: '`group/key` of each entry it held.' }),
  tables: Type.Array(Type.String(), { description: 'The append-only tables it had rows for.' }),
  error: Type.String()
})
export type RefusedReport = Static<typeof RefusedSchema>

// A damaged log could hold many refused changes; the report names the first ones and counts the rest.
export const REFUSED_REPORTED = 100

export const LogRecoverySchema = Type.Object({
  folded_commit: Type.Integer({ description: 'The last commit the store held before replay.' }),
  segments: Type.Integer({ description: 'Log segments read.' }),
  replayed: Type.Integer({ description: 'Commits replayed into the store (those past `folded_commit`).' }),
  changes: Type.Integer({ description: 'Changes those commits held.' }),
  last_commit: Type.Integer({ description: 'The last commit in the store after replay; new commits follow it.' }),
  torn: Nullable(TornSchema),
  damaged: Nullable(DamagedSchema),
  refused: Type.Array(RefusedSchema, { description: `Logged changes the store refused while replaying (a value it cannot hold), each left out alone; the first ${REFUSED_REPORTED}.` }),
  refused_total: Type.Integer()
}, { description: 'The change log at start-up: the store plus a replay of the log past its last folded commit.' })
export type LogRecovery = Static<typeof LogRecoverySchema>
export type TornTail = Static<typeof TornSchema>
export type DamagedLog = Static<typeof DamagedSchema>

export const emptyLogRecovery = (): LogRecovery => ({
  folded_commit: 0, segments: 0, replayed: 0, changes: 0, last_commit: 0, torn: null, damaged: null, refused: [], refused_total: 0
})
