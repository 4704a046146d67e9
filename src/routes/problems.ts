/** GET /problems/{code}: what a problem `type` URI points at, readable by a person and open to everyone. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { notFound, PROBLEMS, type ProblemCode } from '../store/core/errors.js'
import { PROBLEM_EXPLANATIONS } from '../store/core/problem-types.js'
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
    const code = request.params.code
    if (!Object.hasOwn(PROBLEMS, code)) throw notFound(`problem type ${code}`)
    const { status, title } = PROBLEMS[code as ProblemCode]
    return reply.type('text/plain; charset=utf-8').send(`${code} (${status} ${title})\n\n${PROBLEM_EXPLANATIONS[code as ProblemCode]}\n`)
  })
}

export default routes
