/** /v1/buffers: a QA cycle collects its findings in a buffer, then commits it to the journal or discards it (API §7). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime } from '../store/core/schema.js'
import { Type, type Static } from 'typebox'
import { notFound } from '../store/core/errors.js'
import { AUTH_RESPONSES, FormatQuery, IfMatchHeaders, ListQuery, Page, STORE_NOTE, orTextTable, problem } from './schemas.js'
import { nextPageNote, type Table } from '../shared/text-table.js'
import { AggregateSchema, BUFFER_NAME_PATTERN, BufferSchema, WORKSPACE_TAG_PATTERN } from '../store/buffers/model.js'

/** At most this many entries per request: one statement each, bounded in time and memory. */
export const MAX_ENTRIES = 10000

const BufferName = Type.String({ pattern: BUFFER_NAME_PATTERN, description: 'Buffer name, also its file name: `qa-` + the workspace name with every other character turned into `-`, as the Go agent names it.' })

const BufferParams = Type.Object({ name: BufferName })

const BufferPage = Page(BufferSchema)

function bufferTable (page: Static<typeof BufferPage>): Table[] {
  return [{
    columns: ['NAME', 'WORKSPACE', 'COUNT', 'CREATED_AT'],
    rows: page.items.map((b) => [b.name, b.workspace, b.count, b.created_at]),
    note: nextPageNote(page.next_cursor)
  }]
}

const CreateBody = Type.Object({
  name: BufferName,
  workspace: Type.Optional(Type.String({ pattern: WORKSPACE_TAG_PATTERN, description: 'The workspace the cycle belongs to, e.g. `core/go-io/task-5`; defaults to the buffer name.' }))
}, { additionalProperties: false })

const EntrySchema = Type.Object({
  kind: Type.String({ minLength: 1, maxLength: 64, description: 'Entry kind, e.g. `finding`, `tool_run`, `build`, `test`.' }),
  data: Type.Object({}, { additionalProperties: true, description: 'Any JSON object. A `finding` is keyed by `tool`, `file`, `line` and `code` (or `rule_id`) in the journal diff.' })
}, { additionalProperties: false })

const EntriesBody = Type.Union([
  EntrySchema,
  Type.Array(EntrySchema, { minItems: 1, maxItems: MAX_ENTRIES })
], { description: `One entry, or an array of up to ${MAX_ENTRIES}, appended in order in one statement.` })

const CommittedSchema = Type.Object({
  name: Type.String(),
  workspace: Type.String(),
  journal_id: Type.Integer({ description: 'The id of the journal row.' }),
  aggregate: AggregateSchema,
  committed_at: DateTime()
})

const BAD_NAME = problem('Invalid name (`invalid_name`).')

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { buffers, writer } = app.service

  app.post('/v1/buffers', {
    config: { scope: 'write' },
    schema: {
      operationId: 'createBuffer',
      tags: ['buffers'],
      summary: 'Open a buffer for one QA cycle',
      description: 'Creates `.core/state/{name}.duckdb` in go-store\'s layout. A name that is open, or whose file a crashed process left on the volume, is 409 `exists`.' + STORE_NOTE,
      body: CreateBody,
      response: {
        201: { ...BufferSchema, description: 'Created, empty.' },
        400: problem('Invalid name (`invalid_name`) or body (`validation_failed`).'),
        ...AUTH_RESPONSES,
        409: problem('`exists`: a buffer of that name is open, or its file is on the volume.'),
        429: problem('`limit_reached`: `BUFFERS_MAX_OPEN` buffers are open; commit or discard one first.')
      }
    }
  }, async (request, reply) => {
    const { buffer, store } = await buffers.create(request.body.name, request.body.workspace)
    return reply.code(201).header('etag', buffer.etag).header('x-store', store.mode).type('application/json').send(buffer.json)
  })

  app.get('/v1/buffers', {
    config: { scope: 'read', table: bufferTable },
    schema: {
      operationId: 'listBuffers',
      tags: ['buffers'],
      summary: 'List the open buffers in name order',
      querystring: Type.Object({ ...ListQuery, ...FormatQuery }, { additionalProperties: false }),
      response: {
        200: orTextTable(BufferPage, 'A page of open buffers.'),
        400: problem('Invalid cursor, limit or format.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => reply.type('application/json').send(buffers.page(request.query.limit ?? 100, request.query.cursor)))

  app.get('/v1/buffers/:name', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getBuffer',
      tags: ['buffers'],
      summary: 'Read a buffer: its entry count and the count per kind',
      params: BufferParams,
      response: {
        200: { ...BufferSchema, description: 'The buffer; its `ETag` can be sent back as `If-Match`.' },
        400: BAD_NAME,
        ...AUTH_RESPONSES,
        404: problem('No open buffer of that name.')
      }
    }
  }, async (request, reply) => {
    const buffer = buffers.get(request.params.name)
    if (buffer === undefined) throw notFound(`buffer ${request.params.name}`)
    return reply.header('etag', buffer.etag).type('application/json').send(buffer.json)
  })

  app.post('/v1/buffers/:name/entries', {
    config: { scope: 'write' },
    schema: {
      operationId: 'addBufferEntries',
      tags: ['buffers'],
      summary: 'Add one entry, or a batch, to a buffer',
      description: 'Answered once the entries are in the buffer file. Buffers are scratch: they do not touch the store, and a restart discards them.',
      params: BufferParams,
      headers: IfMatchHeaders,
      body: EntriesBody,
      response: {
        201: { ...BufferSchema, description: 'Added; the buffer as it is now.' },
        400: problem('Invalid name (`invalid_name`) or entries (`validation_failed`).'),
        ...AUTH_RESPONSES,
        404: problem('No open buffer of that name.'),
        409: problem('`buffer_closing`: a commit or discard of the buffer has begun.'),
        412: problem('`If-Match` does not match the buffer.'),
        413: problem('`too_large`: the buffer would exceed `BUFFER_MAX_ENTRIES` entries or `BUFFER_MAX_BYTES` bytes; commit it and start another.')
      }
    }
  }, async (request, reply) => {
    const entries = Array.isArray(request.body) ? request.body : [request.body]
    const buffer = await buffers.append(request.params.name, entries, request.headers['if-match'])
    return reply.code(201).header('etag', buffer.etag).header('x-store', writer.mode).type('application/json').send(buffer.json)
  })

  app.post('/v1/buffers/:name/commit', {
    config: { scope: 'write' },
    schema: {
      operationId: 'commitBuffer',
      tags: ['buffers'],
      summary: 'Commit the cycle to the journal and remove the buffer',
      description: 'Writes one journal row (measurement = the buffer name, tags `{workspace}`, fields `{aggregate, findings}` where `findings` are the data of the `finding` entries) and the commit marker in one statement, then removes the file. A crash between the two leaves a file the next start-up deletes, because its marker exists. While the store is unavailable the commit is refused with 503 and the buffer stays open.' + STORE_NOTE,
      params: BufferParams,
      headers: IfMatchHeaders,
      response: {
        200: { ...CommittedSchema, description: 'Journalled; the buffer is gone.' },
        400: BAD_NAME,
        ...AUTH_RESPONSES,
        404: problem('No open buffer of that name.'),
        409: problem('`buffer_closing`: a commit or discard of the buffer has begun.'),
        412: problem('`If-Match` does not match the buffer.'),
        503: problem('`store_unavailable`: the journal row could not be stored durably; the buffer stays open.')
      }
    }
  }, async (request, reply) => {
    const { row, store } = await buffers.commit(request.params.name, request.headers['if-match'])
    return reply.header('x-store', store.mode).send({
      name: row.measurement, workspace: row.tags.workspace, journal_id: row.id, aggregate: row.fields.aggregate, committed_at: row.committed_at
    })
  })

  app.delete('/v1/buffers/:name', {
    config: { scope: 'write' },
    schema: {
      operationId: 'discardBuffer',
      tags: ['buffers'],
      summary: 'Discard a buffer: remove its file, journal nothing',
      description: STORE_NOTE.trim(),
      params: BufferParams,
      headers: IfMatchHeaders,
      response: {
        204: { description: 'Discarded.', type: 'null' },
        400: BAD_NAME,
        ...AUTH_RESPONSES,
        404: problem('No open buffer of that name.'),
        409: problem('`buffer_closing`: a commit or discard of the buffer has begun.'),
        412: problem('`If-Match` does not match the buffer.')
      }
    }
  }, async (request, reply) => {
    const store = await buffers.discard(request.params.name, request.headers['if-match'])
    return reply.code(204).header('x-store', store.mode).send()
  })
}

export default routes
