/** Request ids: the caller's X-Request-Id when it is a sensible token, else a fresh UUID. */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

// A header is input from anyone: it lands in logs and problem bodies, so only short plain tokens are kept.
const USABLE = /^[A-Za-z0-9._:-]{1,128}$/

export function requestId (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && USABLE.test(given) ? given : randomUUID()
}
