/** The request logger made on first use (src/boot/http/request-log.ts): lines keep the request's bindings, levels hold. */
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import t from 'tap'
import { requestLogger } from '../src/boot/http/request-log.js'

function capture (level: string) {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  // Fastify's own logger (pino), as the service's app has it.
  return { logger: Fastify({ logger: { level, stream } }).log, lines }
}

t.test('a request that logs nothing below the level writes nothing; a line at the level carries reqId', async (t) => {
  const { logger, lines } = capture('warn')
  const log = requestLogger(logger, { reqId: 'abc-1' }, {})
  log.info('not written')
  log.debug('not written either')
  t.equal(lines.length, 0)
  log.error({ code: 'x' }, 'written')
  log.warn('also written')
  t.match(lines, [{ level: 50, reqId: 'abc-1', code: 'x', msg: 'written' }, { level: 40, reqId: 'abc-1', msg: 'also written' }])
  // A child of the request's logger keeps the request's bindings and adds its own.
  log.child({ part: 'p' }).error('from a child')
  t.match(lines[2], { reqId: 'abc-1', part: 'p', msg: 'from a child' })
})

t.test('a level set on the request logger applies to its lines only', async (t) => {
  const { logger, lines } = capture('warn')
  const log = requestLogger(logger, { reqId: 'abc-2' }, {})
  t.equal(log.level, 'warn')
  log.level = 'debug'
  log.debug('now written')
  t.match(lines, [{ level: 20, reqId: 'abc-2', msg: 'now written' }])
  logger.debug('the parent still at warn')
  t.equal(lines.length, 1)
})
