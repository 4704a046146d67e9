/** Service configuration: the environment, validated once at start-up and frozen. */
import { resolve } from 'node:path'
import { envSchema } from 'env-schema'
import { Type, type Static } from 'typebox'

export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = typeof SCOPES[number]

const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATA_DIR: Type.Optional(Type.String({ minLength: 1 })),
  CORE_WORKSPACE: Type.Optional(Type.String({ minLength: 1 })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  AUTH_TOKENS: Type.String({ default: '' }),
  ALLOW_OPEN: Type.Enum(['', '0', '1', 'false', 'true'], { default: '' }),
  LEASE_S: Type.Integer({ minimum: 0, default: 300 }),
  REAPER_INTERVAL_S: Type.Integer({ minimum: 1, default: 30 }),
  REAPER_PID_CHECK: Type.Union([Type.Literal('local'), Type.Literal('host'), Type.Literal('off')], { default: 'local' }),
  SYNC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  SYNC_TOKEN: Type.Optional(Type.String()),
  SYNC_MAX_ATTEMPTS: Type.Integer({ minimum: 1, default: 100 }),
  SYNC_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 10000 }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, default: 1048576 }),
  DB_THREADS: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  DB_MEMORY_LIMIT: Type.String({ pattern: '^[0-9]+(KB|MB|GB)$', default: '256MB' }),
  CLOSE_GRACE_MS: Type.Integer({ minimum: 0, default: 10000 }),
  STORE_RETRY_S: Type.Integer({ minimum: 1, default: 5 }),
  EVENT_RETENTION: Type.Integer({ minimum: 1, default: 100000 }),
  SSE_KEEPALIVE_S: Type.Integer({ minimum: 1, default: 15 }),
  SSE_QUEUE_MAX: Type.Integer({ minimum: 1, default: 1000 }),
  CORS_ORIGINS: Type.String({ pattern: '^(https?://[^\\s,/]+(,https?://[^\\s,/]+)*)?$', default: '' })
})
type Env = Static<typeof EnvSchema>

export interface Config {
  port: number
  host: string
  /** Absolute path of the volume: the store lives in `.core/`, workspace folders in `workspace/`. */
  dataDir: string
  logLevel: Env['LOG_LEVEL']
  /** Bearer token → scope. Empty means the service runs open. */
  tokens: ReadonlyMap<string, Scope>
  allowOpen: boolean
  leaseS: number
  reaperIntervalS: number
  /** Which PIDs the reaper may check: see ReaperOptions.pidCheck. */
  reaperPidCheck: Env['REAPER_PID_CHECK']
  syncUrl: string | undefined
  syncToken: string | undefined
  syncMaxAttempts: number
  /** Bound on one delivery to SYNC_URL (connect, send, answer); a timeout counts as a failed attempt. */
  syncTimeoutMs: number
  bodyLimit: number
  dbThreads: number
  dbMemoryLimit: string
  closeGraceMs: number
  /** How often a degraded service tries the store again. */
  storeRetryS: number
  /** How many of the newest events the store keeps for `Last-Event-ID` replay; the periodic pass deletes older ones. */
  eventRetention: number
  /** Seconds between keep-alive comments on `GET /v1/events`. */
  sseKeepaliveS: number
  /** Events a stream client may fall behind by before it is disconnected (it reconnects with Last-Event-ID). */
  sseQueueMax: number
  /** Origins (`https://host[:port]`) whose pages may call the API from a browser; empty: CORS is off. */
  corsOrigins: string[]
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

/** Thrown for a configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {}

function parseTokens (raw: string): Map<string, Scope> {
  const tokens = new Map<string, Scope>()
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = item.lastIndexOf(':')
    const token = item.slice(0, at)
    const scope = item.slice(at + 1) as Scope
    if (at <= 0 || !SCOPES.includes(scope)) {
      throw new ConfigError(`AUTH_TOKENS: each entry must be token:scope with scope read, write or admin (got an entry ending in "${item.slice(-8)}")`)
    }
    tokens.set(token, scope)
  }
  return tokens
}

/** Reads and validates the environment (or `data`, for tests). Throws ConfigError naming the bad variable. */
export function loadConfig (data: Record<string, string | undefined> = process.env): Config {
  let env: Env
  try {
    env = envSchema<Env>({ schema: EnvSchema, data, env: false, dotenv: false })
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`)
  }
  return Object.freeze({
    port: env.PORT,
    host: env.HOST,
    dataDir: resolve(env.DATA_DIR ?? env.CORE_WORKSPACE ?? './data'),
    logLevel: env.LOG_LEVEL,
    tokens: parseTokens(env.AUTH_TOKENS),
    allowOpen: env.ALLOW_OPEN === '1' || env.ALLOW_OPEN === 'true',
    leaseS: env.LEASE_S,
    reaperIntervalS: env.REAPER_INTERVAL_S,
    reaperPidCheck: env.REAPER_PID_CHECK,
    syncUrl: env.SYNC_URL,
    syncToken: env.SYNC_TOKEN,
    syncMaxAttempts: env.SYNC_MAX_ATTEMPTS,
    syncTimeoutMs: env.SYNC_TIMEOUT_MS,
    bodyLimit: env.BODY_LIMIT,
    dbThreads: env.DB_THREADS,
    dbMemoryLimit: env.DB_MEMORY_LIMIT,
    closeGraceMs: env.CLOSE_GRACE_MS,
    storeRetryS: env.STORE_RETRY_S,
    eventRetention: env.EVENT_RETENTION,
    sseKeepaliveS: env.SSE_KEEPALIVE_S,
    sseQueueMax: env.SSE_QUEUE_MAX,
    corsOrigins: env.CORS_ORIGINS === '' ? [] : env.CORS_ORIGINS.split(',')
  })
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/** With no tokens the service is open to anyone who can reach it, so it only listens on loopback unless told otherwise. */
export function checkExposure (config: Config): void {
  if (config.tokens.size === 0 && !config.allowOpen && !LOOPBACK.test(config.host)) {
    throw new ConfigError(`HOST=${config.host} is not loopback and AUTH_TOKENS is empty: set AUTH_TOKENS, or ALLOW_OPEN=1 to run open on purpose`)
  }
}
