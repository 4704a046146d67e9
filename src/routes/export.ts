/** GET /v1/export/{dataset}: a dataset as Parquet, CSV or NDJSON, streamed from a file DuckDB wrote. */
import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DateTime } from '../store/core/schema.js'
import { Type } from 'typebox'
import { EXPORT_DATASETS, EXPORT_FORMATS, exportToFile, type ExportFormat } from '../store/history/export.js'
import { parseRange } from '../store/history/time-range.js'
import { DomainError } from '../store/core/errors.js'
import { assertDescriptors, DESCRIPTOR_COSTS } from '../store/core/descriptors.js'
import { AUTH_RESPONSES, problem } from './schemas.js'

// Each export holds a file under .core/tmp until it is streamed; two at once bounds that space (they are
// written one at a time on the analytics lane, and the free space is checked for each).
const MAX_EXPORTS = 2

const FORMATS = Object.keys(EXPORT_FORMATS) as ExportFormat[]

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { lane, analytics, reserve, exportDir } = app.service.history
  const deps = { lane, analytics, reserve, dataDir: app.config.dataDir, tmpDir: exportDir }
  let inFlight = 0

  app.get('/v1/export/:dataset', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'exportDataset',
      tags: ['history'],
      summary: 'A whole dataset as Parquet, CSV or NDJSON, for DuckDB, pandas or a warehouse',
      description: '`runs`: the run history (the range applies to `ended_at`); `events`: the stored event log (`at`); `journal`: committed QA cycles (`committed_at`); `workspaces`: the registry, one row per workspace (`updated_at`). Stored JSON becomes typed columns; nested parts (event data, journal aggregate and findings) are JSON. Times are UTC.',
      params: Type.Object({ dataset: Type.Enum(EXPORT_DATASETS, { description: 'What to export.' }) }),
      querystring: Type.Object({
        format: Type.Optional(Type.Enum(FORMATS, { default: 'ndjson', description: 'File format (default `ndjson`).' })),
        since: Type.Optional(DateTime('Rows at or after this time.')),
        until: Type.Optional(DateTime('Rows before this time.'))
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The file, streamed.',
          content: Object.fromEntries(FORMATS.map((f) => [EXPORT_FORMATS[f].contentType.split(';')[0], { schema: Type.String({ format: 'binary' }) }]))
        },
        400: problem('Unknown dataset or format, or an invalid range.'),
        503: problem('`store_unavailable`: the store is unavailable; `analytics_busy`: too many exports or analytics calls are under way; `descriptors_low`: too few file descriptors are free; `disk_full`: a copy of the store would leave less than `DISK_RESERVE_BYTES` free, or the free space fell under it while the export ran.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const { dataset } = request.params
    const format = request.query.format ?? 'ndjson'
    const range = parseRange(request.query.since, request.query.until)
    if (inFlight >= MAX_EXPORTS) throw new DomainError('analytics_busy', `${MAX_EXPORTS} exports are under way; try again when one is done`)
    assertDescriptors(DESCRIPTOR_COSTS.export, 'an export')
    inFlight++
    const { ext, contentType } = EXPORT_FORMATS[format]
    const file = join(exportDir, `export-${randomUUID()}.${ext}`)
    const done = (): void => { inFlight--; void rm(file, { force: true }) }
    try {
      await exportToFile(deps, dataset, format, range, file)
    } catch (err) {
      done()
      throw err
    }
    const stream = createReadStream(file)
    // Unlinked once open: the open descriptor keeps the data, and nothing is left behind if the process dies mid-stream.
    stream.once('open', () => { void rm(file, { force: true }) })
    stream.once('close', done)
    return reply
      .type(contentType)
      .header('content-disposition', `attachment; filename="${dataset}.${ext}"`)
      .send(stream)
  })
}

export default routes
