/** problem+json everywhere (RFC 9457): domain errors, validation, unknown routes, and 5xx without internals. */
import type { FastifyError, FastifyInstance, FastifyReply, preHandlerHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { isDiskFull } from '../../store/core/disk.js'
import { DomainError, PROBLEMS, type FieldError, type ProblemCode } from '../../store/core/errors.js'
import { problemType } from '../../store/core/problem-types.js'
import { fieldErrors, type AjvIssue } from '../../store/core/field-errors.js'

export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'The problem type: `/problems/<code>`, a page this service serves explaining the code.' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: 'Stable snake_case code, e.g. `not_found`, `stale_run`.' }),
  request_id: Type.String({ description: 'The request\'s id, as in its `X-Request-Id` header and the log.' }),
  errors: Type.Optional(Type.Array(Type.Object({
    field: Type.String({ description: 'Where: `body.runs`, `params.org`, `query.limit`, `header.if-match`.' }),
    message: Type.String()
  })))
}, { $id: 'Problem', description: 'RFC 9457 problem details.' })

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  request_id: string
  errors?: FieldError[]
}

/** The title of a status that Fastify chose for a `bad_request`: the catalogue's for that status, if it has one. */
const titleOf = (status: number): string => Object.values(PROBLEMS).find((p) => p.status === status)?.title ?? 'Error'

/** The problem for `code` with the catalogue's status and title; `status` only for a Fastify error that brings its own. */
export function problemBody (code: ProblemCode, detail: string, requestId: string, errors?: FieldError[], status: number = PROBLEMS[code].status): Problem {
  const title = status === PROBLEMS[code].status ? PROBLEMS[code].title : titleOf(status)
  const body: Problem = { type: problemType(code), title, status, detail, code, request_id: requestId }
  if (errors !== undefined && errors.length > 0) body.errors = errors
  return body
}

/** Answers with problemBody's problem. */
export function sendProblem (reply: FastifyReply, code: ProblemCode, detail: string, errors?: FieldError[], status: number = PROBLEMS[code].status): FastifyReply {
  const body = problemBody(code, detail, reply.request.id, errors, status)
  return reply.code(body.status).type('application/problem+json').send(body)
}

// Fastify's own 4xx errors (bad JSON, wrong content type, oversized body, …) keep their status and get a stable code.
const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type'
}

// Fastify's validation contexts, named the way a caller thinks of them.
const CONTEXT_NAMES: Record<string, string> = { querystring: 'query', headers: 'header' }

async function errors (app: FastifyInstance): Promise<void> {
  app.addSchema(ProblemSchema)

  app.setErrorHandler((err: FastifyError & { validation?: AjvIssue[], validationContext?: string }, request, reply) => {
    if (err instanceof DomainError) return sendProblem(reply, err.code, err.message, err.errors)
    if (err.validation !== undefined) {
      const context = err.validationContext ?? 'body'
      const list = fieldErrors(CONTEXT_NAMES[context] ?? context, err.validation)
      // A bad name is its own error, in the path or as a body's `name` (a buffer's): it would have become a file path.
      if (context === 'params' || list.some((e) => e.field === 'body.name')) {
        return sendProblem(reply, 'invalid_name', 'a name is invalid; `errors` says which and the pattern it must match', list)
      }
      return sendProblem(reply, 'validation_failed', `the request ${context} is invalid`, list)
    }
    const status = err.statusCode ?? 500
    if (status < 500) {
      const code = FASTIFY_CODES[err.code] ?? (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'invalid_json' : 'bad_request')
      return sendProblem(reply, code, err.message, undefined, status)
    }
    // A full disk is a condition to wait out (503 with Retry-After), whichever write met it.
    if (isDiskFull(err)) {
      request.log.error({ err }, 'the disk is full')
      return sendProblem(reply, 'disk_full', 'the disk is full: nothing of this request was kept; retry once space is freed')
    }
    request.log.error({ err }, 'unhandled error')
    return sendProblem(reply, 'internal', 'the server failed to handle this request; the error is in its log')
  })

  // Ajv coerces a query or header value like `1e400` to Infinity and then passes it as an integer within any
  // maximum (strictNumbers does not cover coerced values): `?limit=1e400` served every item. Validated
  // query strings and headers therefore must not hold a non-finite number.
  // Only a route with a query or header schema can coerce, so only those routes get the check.
  const finiteOnly: preHandlerHookHandler = (request, _reply, done) => {
    for (const [part, values] of [['query', request.query], ['header', request.headers]] as const) {
      if (values === null || typeof values !== 'object') continue
      for (const key in values) {
        const value = (values as Record<string, unknown>)[key]
        if (typeof value === 'number' && !Number.isFinite(value)) {
          done(new DomainError('validation_failed', `the request ${part} is invalid`, [{ field: `${part}.${key}`, message: 'must be a finite number' }]) as unknown as FastifyError)
          return
        }
      }
    }
    done()
  }
  app.addHook('onRoute', (route) => {
    if (route.schema?.querystring === undefined && route.schema?.headers === undefined) return
    route.preHandler = [...[route.preHandler ?? []].flat(), finiteOnly]
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    const allowed = app.allowedMethods(request)
    // Also a 404 when the method is among them: the router refused the path itself (a `.` segment, say).
    if (allowed.length === 0 || allowed.includes(request.method)) return sendProblem(reply, 'not_found', `no route ${request.method} ${path}`)
    reply.header('allow', allowed.join(', '))
    return sendProblem(reply, 'method_not_allowed', `${path} answers ${allowed.join(', ')}, not ${request.method}`)
  })
}

export default fp(errors, { name: 'errors' })
