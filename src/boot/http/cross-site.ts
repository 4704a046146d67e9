/**
 * What a web page of another site can make the service do (docs/http.md, "Browsers and open mode"). A
 * browser lets any page send a GET, HEAD or POST anywhere without asking (a "simple" request: no
 * preflight, a POST without a body or with a form's content type), and lets a page whose DNS name was
 * rebound to 127.0.0.1 call the service as its own origin. With tokens neither carries a token. Without
 * tokens (open mode) they would be obeyed, so:
 *
 * - open mode answers only requests addressed to a loopback name (rebinding needs the attacker's name in
 *   `Host`), unless ALLOW_OPEN=1 says other names are meant;
 * - open mode refuses a request whose `Origin` is neither the service itself nor one of CORS_ORIGINS;
 * - in every mode a POST from a browser (it has an `Origin`) must say `Content-Type: application/json`,
 *   which no page can send elsewhere without a preflight; clients that are not browsers send no `Origin`
 *   and may still POST without a body. Behind a proxy that signs requests in with a cookie, this is what
 *   keeps a token-mode service from obeying other sites too.
 *
 * Answers that depend on `Origin` say `Vary: Origin`, so no cache hands one origin's answer to another.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { sendProblem } from './errors.js'
import { addVary } from './vary.js'

/** `localhost`, a `*.localhost` name (RFC 6761: always loopback, browsers resolve it themselves), 127.0.0.0/8 or [::1], with an optional port. */
const LOOPBACK_HOST = /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)*\.localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i

const JSON_TYPE = /^application\/json\s*(;|$)/i

export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOST.test(host)

/** Whether `origin` is the origin of a page this service served when reached as `host`. */
export function isOwnOrigin (origin: string, host: string | undefined): boolean {
  if (host === undefined) return false
  try {
    const page = new URL(origin)
    // Parsed the same way, so a default port and letter case compare equal.
    return (page.protocol === 'http:' || page.protocol === 'https:') && page.origin === new URL(`${page.protocol}//${host}`).origin
  } catch {
    // `null` (a sandboxed frame, a file) or anything else that is not an origin.
    return false
  }
}

async function crossSite (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const open = config.tokens.size === 0
  const checkHost = open && !config.allowOpen
  const allowed = new Set(config.corsOrigins)
  const varies = open || allowed.size > 0

  app.addHook('onRequest', async (request, reply) => {
    const { host, origin } = request.headers
    if (checkHost && host !== undefined && !isLoopbackHost(host)) {
      return sendProblem(reply, 'host_refused', 'with no AUTH_TOKENS the service answers only requests addressed to localhost, 127.0.0.1 or [::1]')
    }
    if (origin === undefined) return
    if (open && !allowed.has(origin) && !isOwnOrigin(origin, host)) {
      return sendProblem(reply, 'origin_refused', 'with no AUTH_TOKENS, pages of other origins may not call the service; name the origin in CORS_ORIGINS to allow it')
    }
    if (request.method === 'POST' && !JSON_TYPE.test(request.headers['content-type'] ?? '')) {
      return sendProblem(reply, 'unsupported_media_type', 'a POST from a browser page must be Content-Type: application/json, with a JSON body (`{}` when there is nothing to send)')
    }
  })

  if (varies) app.addHook('onSend', async (_request, reply, payload) => { addVary(reply, 'Origin'); return payload })
}

export default fp(crossSite, { name: 'cross-site' })
