/** GET /problems/{code}: what a problem `type` URI points at, readable by a person and open to everyone. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { notFound } from '../store/core/errors.js'
import { PROBLEM_TYPES } from '../boot/problem-types.js'
import { problem } from './schemas.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/problems/:code', {
    schema: {
      operationId: 'getProblemType',
      security: [],
      tags: ['operations'],
      summary: 'What a problem code means: the page a problem\'s `type` links to',
      params: Type.Object({ code: Type.String({ pattern: '^[a-z]+(_[a-z]+)*$', maxLength: 64 }) }),
      response: {
        200: { description: 'The code, its status and what to do.', content: { 'text/plain': { schema: Type.String() } } },
        400: problem('Not a problem code.'),
        404: problem('No such code.')
      }
    }
  }, async (request, reply) => {
    const entry = PROBLEM_TYPES[request.params.code]
    if (entry === undefined) throw notFound(`problem type ${request.params.code}`)
    return reply.type('text/plain; charset=utf-8').send(`${request.params.code} (${entry.status} ${entry.title})\n\n${entry.explanation}\n`)
  })
}

export default routes
