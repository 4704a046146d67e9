/** /v1/backups: take an online backup of the store, list the backups, remove one. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AUTH_RESPONSES, ListQuery, problem } from './schemas.js'
import { BackupSchema } from '../store/history/model.js'
import { NAME_PATTERN } from '../store/workspaces/model.js'

const Name = Type.String({ pattern: NAME_PATTERN, description: 'A plain name: letters, digits, `.`, `_`, `-`, at most 100 characters.' })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { backups } = app.service.history

  app.post('/v1/backups', {
    config: { scope: 'admin' },
    // A bare POST takes a backup with the default name; a JSON `null` is still a wrong body.
    preValidation: async (request) => { if (request.body === undefined) request.body = {} },
    schema: {
      operationId: 'createBackup',
      tags: ['history'],
      summary: 'Take a backup of the store while the service keeps serving',
      description: 'Writes a consistent, self-contained copy of the store to `$DATA_DIR/backups/<name>/` and answers once it is on disk. Writes never wait for the copy. Beyond `BACKUP_KEEP` backups, the oldest are removed (named in `pruned`). Start from one with `RESTORE_FROM=<name>`. QA buffers and workspace folders are not part of it.',
      body: Type.Object({
        name: Type.Optional(Name)
      }, { additionalProperties: false, description: 'Optional; the default name is `backup-<UTC time>`.' }),
      response: {
        201: Type.Object({ backup: BackupSchema, pruned: Type.Array(Type.String(), { description: 'Older backups removed to keep BACKUP_KEEP.' }) }),
        400: problem('Invalid name.'),
        409: problem('`exists`: a backup of that name exists; `backup_in_progress`: another backup is being taken; `backups_folder_invalid`: `backups/` is not a plain folder.'),
        503: problem('`store_unavailable`: the store is unavailable (degraded); `analytics_busy`: too many analytics calls are waiting; `descriptors_low`: too few file descriptors are free; `disk_full`: a copy of the store would leave less than `DISK_RESERVE_BYTES` free, or the disk filled while it was taken (nothing is kept).'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    const result = await backups.create(request.body.name)
    return reply.code(201).send(result)
  })

  app.get('/v1/backups', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'listBackups',
      tags: ['history'],
      summary: 'The backups, newest first',
      querystring: Type.Object(ListQuery, { additionalProperties: false }),
      response: {
        200: Type.Object({
          items: Type.Array(BackupSchema),
          next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Cursor for the next page; null at the end.' })
        }),
        400: problem('Invalid `limit` or cursor.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request) => backups.page(request.query.limit ?? 100, request.query.cursor, app.config.pageMaxBytes))

  app.delete('/v1/backups/:name', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'deleteBackup',
      tags: ['history'],
      summary: 'Remove a backup',
      params: Type.Object({ name: Name }),
      response: {
        204: { description: 'Removed.', type: 'null' },
        400: problem('Invalid name.'),
        404: problem('No such backup.'),
        ...AUTH_RESPONSES
      }
    }
  }, async (request, reply) => {
    await backups.remove(request.params.name)
    return reply.code(204).send(null)
  })
}

export default routes
