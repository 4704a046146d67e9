/** Bearer-token auth with scopes read < write < admin; a route declares the scope it needs in `config.scope`. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { grants, type Scope } from '../../shared/scopes.js'
import { sendProblem } from './errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs; routes without one (health, docs) are open. */
    scope?: Scope
  }
  interface FastifyRequest {
    /** Who made the request, for the audit trail: a token fingerprint, or `open` when no tokens are configured. */
    caller: string
    /** The scope the caller's token grants (`admin` everywhere when no tokens are configured); null until auth ran or on open routes. */
    scope: Scope | null
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export interface AuthOptions {
  tokens: ReadonlyMap<string, Scope>
}

async function auth (app: FastifyInstance, { tokens }: AuthOptions): Promise<void> {
  // The scope a route declares is also its OpenAPI security requirement (the role names OpenAPI 3.1
  // allows for bearer schemes), so the document and the check can never disagree.
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope
    if (scope !== undefined && route.schema !== undefined) route.schema = { ...route.schema, security: [{ bearer: [scope] }] }
  })

  if (tokens.size === 0) {
    // Open mode: every caller is the same one, with every scope, so no request needs a check.
    app.decorateRequest('caller', 'open')
    app.decorateRequest('scope', 'admin')
    return
  }

  // Comparing fixed-length digests with timingSafeEqual, over every token, keeps the time independent of the guess.
  const known = [...tokens].map(([token, scope]) => ({ hash: digest(token), scope, caller: `token:${digest(token).toString('hex').slice(0, 8)}` }))
  app.decorateRequest('caller', 'anonymous')
  app.decorateRequest('scope', null)

  /** The check of one route, added to that route only: open routes (health, docs) and unknown paths pay nothing. */
  const check = (needed: Scope): onRequestHookHandler => (request, reply, done) => {
    const header = request.headers.authorization
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (match === null) {
      reply.header('www-authenticate', 'Bearer')
      sendProblem(reply, 'unauthorized', 'send Authorization: Bearer <token>')
      return
    }
    const given = digest(match[1] as string)
    let found: typeof known[number] | undefined
    for (const k of known) if (timingSafeEqual(k.hash, given) && found === undefined) found = k
    if (found === undefined) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"')
      sendProblem(reply, 'unauthorized', 'the bearer token is not recognised')
      return
    }
    if (!grants(found.scope, needed)) {
      sendProblem(reply, 'forbidden', `this route needs the ${needed} scope; the token has ${found.scope}`)
      return
    }
    request.caller = found.caller
    request.scope = found.scope
    done()
  }
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope
    if (scope !== undefined) route.onRequest = [check(scope), ...[route.onRequest ?? []].flat()]
  })
}

export default fp(auth, { name: 'auth' })
