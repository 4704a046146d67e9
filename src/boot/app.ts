/** The Fastify application: infrastructure plugins first, then the routes. Listening is server.ts's job. */
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import AjvCompiler from '@fastify/ajv-compiler'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import { isTime } from '../store/core/time.js'
import auth from './http/auth.js'
import errors, { sendProblem } from './http/errors.js'
import { parseJsonBody } from './http/json-body.js'
import { lazySerializers, lazyValidators } from './http/lazy-compile.js'
import openapi from './openapi/swagger.js'
import metrics from './http/metrics.js'
import service, { type ServiceOptions } from './service.js'
import writeGuard from './http/write-guard.js'
import bufferRoutes from '../routes/buffers.js'
import backupRoutes from '../routes/backups.js'
import mcpRoutes from '../routes/mcp.js'
import eventRoutes from '../routes/events.js'
import exportRoutes from '../routes/export.js'
import healthRoutes from '../routes/health.js'
import journalRoutes from '../routes/journal.js'
import metricsRoutes from '../routes/metrics.js'
import poolRoutes from '../routes/pools.js'
import queueRoutes from '../routes/queue.js'
import recoveryRoutes from '../routes/recovery.js'
import statsRoutes from '../routes/stats.js'
import statusRoutes from '../routes/status.js'
import syncRoutes from '../routes/sync.js'
import workspaceRoutes from '../routes/workspaces.js'
import activityRoutes from '../routes/activity.js'
import eventLogRoutes from '../routes/event-log.js'
import uiRoutes from '../routes/ui.js'
import whoamiRoutes from '../routes/whoami.js'
import problemRoutes from '../routes/problems.js'
import httpConventions from './http/http-conventions.js'
import { requestId } from './http/request-id.js'
import connectionLimits, { requestBounds } from './http/connections.js'
import crossSite from './http/cross-site.js'
import { requestLogger } from './http/request-log.js'

/** Test seams of the composition root: a clock, a faster sync backoff, a crash point in buffer commits. */
export type AppOptions = Omit<ServiceOptions, 'config'>

// Fastify's own validator and serializer compilers (dependencies of fastify), the validator with two
// option sets, both compiling each route's schemas on first use (lazy-compile.ts).
const buildAjvValidator = AjvCompiler()
const buildSerializer = SerializerSelector()

export async function buildApp (config: Config, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization']
    },
    // Agents report every few seconds; a line per request would drown the log. Errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // The request's own logger is made only when the request logs something (request-log.ts).
    childLoggerFactory: requestLogger,
    bodyLimit: config.bodyLimit,
    // Requests that arrive while closing get a problem+json 503 from the write guard instead of Fastify's own body.
    return503OnClosing: false,
    // REQUEST_TIMEOUT_S for headers and body, checked every second; Node's own 400/408/431 as problem+json.
    ...requestBounds(config),
    // The caller's X-Request-Id (checked) or a UUID; echoed in a header and every problem, logged as reqId.
    genReqId: requestId,
    // Start-up steps take as long as the volume needs (hydrating 100,000 workspaces, recovering 1,000
    // orphan buffers); Fastify's default 10 s limit on onReady hooks would abort the start.
    pluginTimeout: 0,
    // Every path parameter is a name (100 chars per workspace segment, 128 for buffers); longer is refused as a name.
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: (err, _request, reply) => err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? sendProblem(reply, 'invalid_name', 'a name in the path is too long')
      : sendProblem(reply, 'bad_url', 'the URL is malformed'),
    ajv: {
      // Unknown fields are refused, not dropped, and every bad field is listed (API §1). strictNumbers: a
      // query value like `limit=1e400` coerces to Infinity, which plain Ajv counts as an integer within any maximum.
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true, strictNumbers: true },
      // One `date-time` for bodies, queries and files (store/core/time.ts): a time the store can hold.
      onCreate: (ajv) => { ajv.addFormat('date-time', isTime) }
    },
    schemaController: {
      compilersFactory: {
        // Coercion is for the path, query and headers, where every value arrives as a string. A JSON body has
        // real types: with coercion `{"runs": null}` was stored as 0, `"runs": "2"` as 2, `"task": ["x"]` as "x".
        // Bodies get the same Ajv options without it (the compiler Fastify itself uses, pooled by options).
        // The Ajv instances too are made by the first request that needs one.
        buildValidator: (externalSchemas, ajvOptions) => lazyValidators((route) => route.httpPart === 'body'
          ? buildAjvValidator(externalSchemas, { ...ajvOptions, customOptions: { ...ajvOptions?.customOptions, coerceTypes: false } } as typeof ajvOptions)(route)
          : buildAjvValidator(externalSchemas, ajvOptions)(route)),
        buildSerializer: (externalSchemas, options) => lazySerializers(buildSerializer(externalSchemas, options))
      }
    }
  }).withTypeProvider<TypeBoxTypeProvider>()

  // JSON only: a text body is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain')
  // Fastify's JSON parser keeps the last of duplicate keys silently; ours refuses them (json-body.ts).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody)
  app.decorate('config', config)
  await app.register(errors)
  await app.register(crossSite, { config })
  await app.register(httpConventions, { config })
  await app.register(openapi)
  await app.register(auth, { tokens: config.tokens })
  await app.register(writeGuard)
  await app.register(service, { config, ...opts })
  await app.register(connectionLimits, { config })
  // Before the routes: its onResponse hook times every one of them.
  await app.register(metrics)
  await app.register(healthRoutes)
  await app.register(metricsRoutes)
  await app.register(problemRoutes)
  await app.register(workspaceRoutes)
  await app.register(statusRoutes)
  await app.register(recoveryRoutes)
  await app.register(poolRoutes)
  await app.register(queueRoutes)
  await app.register(syncRoutes)
  await app.register(bufferRoutes)
  await app.register(journalRoutes)
  await app.register(eventRoutes)
  // The dashboard and the reads it needs.
  await app.register(whoamiRoutes)
  await app.register(eventLogRoutes)
  await app.register(activityRoutes)
  await app.register(uiRoutes)
  await app.register(statsRoutes)
  await app.register(exportRoutes)
  await app.register(backupRoutes)
  await app.register(mcpRoutes)
  return app
}
