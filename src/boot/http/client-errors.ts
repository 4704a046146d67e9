/**
 * Requests the HTTP server refuses before Fastify sees them (a malformed request line, headers larger than
 * 16 KiB, a request that did not arrive within REQUEST_TIMEOUT_S) get a problem+json like every other
 * refusal, with `Connection: close`: after a parse error nothing more can be read from the connection.
 */
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { ProblemCode } from '../../store/core/errors.js'
import { problemBody } from './errors.js'

const REFUSALS: Record<string, { code: ProblemCode, detail: string }> = {
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large', detail: 'the request line and headers are larger than 16 KiB' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', detail: 'the request did not arrive whole within REQUEST_TIMEOUT_S' }
}

// A client that never reads the answer nor closes must not keep the descriptor: this long to read it, then the socket goes.
const LINGER_MS = 5000

/** Fastify's `clientErrorHandler`: answers and closes the connection. */
export function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection or one already answering has nowhere to put a problem.
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const { code, detail } = REFUSALS[err.code ?? ''] ?? { code: 'bad_request', detail: `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})` }
  const id = randomUUID()
  const problem = problemBody(code, detail, id)
  const body = JSON.stringify(problem)
  this.log.debug({ reqId: id, code: err.code }, 'refused a request the HTTP server could not read')
  socket.end([
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    `X-Request-Id: ${id}`,
    '',
    body
  ].join('\r\n'))
  setTimeout(() => socket.destroy(), LINGER_MS).unref()
}
