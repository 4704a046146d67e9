/**
 * The operator dashboard at `/ui`: the page and its two bundles, built by `npm run build` into `dist/ui/`
 * (sources in `ui/`). The files are read once and served from memory; only these names exist, so no request
 * path ever reaches the file system.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { DomainError } from '../store/core/errors.js'
import { problem } from './schemas.js'
import { packageRoot } from '../shared/package-info.js'

// From the package root: tests from source find the build too, and so does the bundled server (dist/boot/).
const BUILT = join(packageRoot, 'dist', 'ui')

const FILES = { 'index.html': 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const
type FileName = keyof typeof FILES

// Scripts and styles only from this service, requests only back to it, no inline script, no framing.
const UI_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

interface Asset { body: Buffer, etag: string, type: string }

// The page says whether the service wants a token, so it asks for one without first fetching a 401.
const AUTH_META = '<meta name="agent-state-auth" content="">'

function load (auth: 'open' | 'token'): Map<string, Asset> | null {
  try {
    return new Map(Object.entries(FILES).map(([name, type]) => {
      const file = readFileSync(join(BUILT, name))
      const body = name === 'index.html' ? Buffer.from(file.toString('utf8').replace(AUTH_META, AUTH_META.replace('""', `"${auth}"`))) : file
      return [name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }]
    }))
  } catch {
    return null
  }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const assets = load(app.config.tokens.size === 0 ? 'open' : 'token')
  if (assets === null) app.log.warn('the dashboard is not built (dist/ui/ is missing): run `npm run build`; /ui answers 503')

  const send = (reply: FastifyReply, ifNoneMatch: string | undefined, name: FileName) => {
    const asset = assets?.get(name)
    if (asset === undefined) throw new DomainError('ui_not_built', 'the dashboard is not built: run `npm run build`')
    // Revalidated on every load (a few bytes when unchanged), so a new build is never hidden behind a cache.
    reply.header('etag', asset.etag).header('cache-control', 'no-cache')
      .header('content-security-policy', UI_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer')
    if (ifNoneMatch === asset.etag) return reply.code(304).send()
    return reply.type(asset.type).send(asset.body)
  }

  app.get('/ui', {
    schema: {
      operationId: 'getDashboard',
      security: [],
      tags: ['operations'],
      summary: 'The operator dashboard (HTML)',
      description: 'A live view of pools, workspaces, the queue, events, the sync outbox and the journal, with admin actions for an admin token. The page asks for a token when the service has tokens; the page itself needs none.',
      response: {
        200: { description: 'The page.', content: { 'text/html': { schema: Type.String() } } },
        304: { description: 'Unchanged since the ETag sent in `If-None-Match`.', type: 'null' },
        503: problem('`ui_not_built`: dist/ui/ is missing; run `npm run build`.')
      }
    }
  }, async (request, reply) => send(reply, request.headers['if-none-match'], 'index.html'))

  app.get('/ui/:file', {
    schema: {
      operationId: 'getDashboardAsset',
      security: [],
      tags: ['operations'],
      summary: "The dashboard's script and style sheet",
      params: Type.Object({ file: Type.Enum(['app.js', 'app.css'], { description: 'One of the built files.' }) }),
      response: {
        200: { description: 'The file.', content: { 'text/javascript': { schema: Type.String() }, 'text/css': { schema: Type.String() } } },
        304: { description: 'Unchanged since the ETag sent in `If-None-Match`.', type: 'null' },
        400: problem('Not one of the built files.'),
        503: problem('`ui_not_built`: dist/ui/ is missing; run `npm run build`.')
      }
    }
  }, async (request, reply) => send(reply, request.headers['if-none-match'], request.params.file))
}

export default routes
