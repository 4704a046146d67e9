/** Service configuration: the environment, validated once at start-up and frozen. */
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { envSchema } from 'env-schema'
import { Type, type Static } from 'typebox'
import type { ServiceSettings } from '../store/service/settings.js'
import { SCOPES, type Scope } from '../shared/scopes.js'

const MIB = 1024 * 1024
// Node's timers hold at most 2^31 - 1 ms; a longer delay fires at once (and warns). Intervals stay below it.
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000)
const DAY_S = 86400

const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATA_DIR: Type.Optional(Type.String({ minLength: 1 })),
  CORE_WORKSPACE: Type.Optional(Type.String({ minLength: 1 })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  AUTH_TOKENS: Type.String({ default: '' }),
  ALLOW_OPEN: Type.Enum(['', '0', '1', 'false', 'true'], { default: '' }),
  LEASE_S: Type.Integer({ minimum: 0, maximum: 365 * DAY_S, default: 300 }),
  REAPER_INTERVAL_S: Type.Integer({ minimum: 1, maximum: MAX_TIMER_S, default: 30 }),
  REAPER_PID_CHECK: Type.Union([Type.Literal('local'), Type.Literal('host'), Type.Literal('off')], { default: 'local' }),
  SYNC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  SYNC_TOKEN: Type.Optional(Type.String()),
  SYNC_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100 }),
  SYNC_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1, default: 10000 }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 64 * MIB, default: 1048576 }),
  DB_THREADS: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  // At least 64MB (checked below): DuckDB with less cannot open a store of any size, and 0 means no store at all.
  DB_MEMORY_LIMIT: Type.String({ pattern: '^[0-9]{1,7}(MB|GB)$', default: '256MB' }),
  CLOSE_GRACE_MS: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: 10000 }),
  STORE_RETRY_S: Type.Integer({ minimum: 1, maximum: 3600, default: 5 }),
  EVENT_RETENTION: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100000 }),
  SSE_KEEPALIVE_S: Type.Integer({ minimum: 1, maximum: 3600, default: 15 }),
  SSE_QUEUE_MAX: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
  EVENT_STREAMS_MAX: Type.Integer({ minimum: 1, maximum: 100_000, default: 256 }),
  BUFFERS_MAX_OPEN: Type.Integer({ minimum: 1, maximum: 10_000, default: 64 }),
  BUFFER_MAX_ENTRIES: Type.Integer({ minimum: 1, default: 100_000 }),
  BUFFER_MAX_BYTES: Type.Integer({ minimum: 1024, default: 8 * MIB }),
  JOURNAL_MAX_BYTES: Type.Integer({ minimum: MIB, default: 64 * MIB }),
  SYNC_QUEUE_MAX_ITEMS: Type.Integer({ minimum: 1, default: 10_000 }),
  SYNC_QUEUE_MAX_BYTES: Type.Integer({ minimum: MIB, default: 64 * MIB }),
  CLAIM_WAITERS_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1000 }),
  MCP_SESSIONS_MAX: Type.Integer({ minimum: 1, maximum: 100_000, default: 256 }),
  MCP_SESSION_IDLE_S: Type.Integer({ minimum: 1, maximum: 7 * DAY_S, default: 900 }),
  MCP_SUBSCRIPTIONS_MAX: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
  HISTORY_RETENTION_DAYS: Type.Integer({ minimum: 0, maximum: 36500, default: 90 }),
  HISTORY_MAX_ROWS: Type.Integer({ minimum: 1, default: 10000000 }),
  BACKUP_KEEP: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  QUARANTINE_KEEP: Type.Integer({ minimum: 0, maximum: 100_000, default: 20 }),
  RESTORE_FROM: Type.Optional(Type.String({ pattern: '^(backups/)?[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' })),
  CORS_ORIGINS: Type.String({ pattern: '^(https?://[^\\s,/]+(,https?://[^\\s,/]+)*)?$', default: '' })
})
type Env = Static<typeof EnvSchema>

/** The whole configuration: the store side's settings and what the HTTP server and the process need. */
export interface Config extends ServiceSettings {
  port: number
  host: string
  logLevel: Env['LOG_LEVEL']
  /** Bearer token → scope. Empty means the service runs open. */
  tokens: ReadonlyMap<string, Scope>
  allowOpen: boolean
  bodyLimit: number
  closeGraceMs: number
  /** MCP sessions open at once (`/mcp`); one more initialize is 429 `limit_reached`. */
  mcpSessionsMax: number
  /** An MCP session with no request in flight and no notification stream open for this long is closed. */
  mcpSessionIdleS: number
  /** Workspaces one MCP session may subscribe to. */
  mcpSubscriptionsMax: number
  /** A backup name to start from when there is no store yet (history/restore.ts). */
  restoreFrom: string | undefined
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

const BEARER_TOKEN = /^[\x21-\x7e]+$/

function parseTokens (raw: string): Map<string, Scope> {
  const tokens = new Map<string, Scope>()
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = item.lastIndexOf(':')
    const token = item.slice(0, at)
    const scope = item.slice(at + 1) as Scope
    if (at <= 0 || !SCOPES.includes(scope)) {
      throw new ConfigError(`AUTH_TOKENS: each entry must be token:scope with scope read, write or admin (got an entry ending in "${item.slice(-8)}")`)
    }
    // A token with a space or a control character can never arrive whole in an Authorization header.
    if (!BEARER_TOKEN.test(token)) throw new ConfigError('AUTH_TOKENS: a token may hold only visible ASCII characters, no spaces')
    tokens.set(token, scope)
  }
  return tokens
}

const megabytes = (limit: string): number => parseInt(limit, 10) * (limit.endsWith('GB') ? 1024 : 1)

/** Reads and validates the environment (or `data`, for tests). Throws ConfigError naming the bad variable. */
export function loadConfig (data: Record<string, string | undefined> = process.env): Config {
  let env: Env
  try {
    env = envSchema<Env>({ schema: EnvSchema, data, env: false, dotenv: false })
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`)
  }
  if (megabytes(env.DB_MEMORY_LIMIT) < 64) throw new ConfigError(`invalid configuration: DB_MEMORY_LIMIT must be at least 64MB (got ${env.DB_MEMORY_LIMIT})`)
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
    eventStreamsMax: env.EVENT_STREAMS_MAX,
    limits: Object.freeze({
      buffersOpen: env.BUFFERS_MAX_OPEN,
      bufferEntries: env.BUFFER_MAX_ENTRIES,
      bufferBytes: env.BUFFER_MAX_BYTES,
      journalBytes: env.JOURNAL_MAX_BYTES,
      syncItems: env.SYNC_QUEUE_MAX_ITEMS,
      syncBytes: env.SYNC_QUEUE_MAX_BYTES
    }),
    claimWaitersMax: env.CLAIM_WAITERS_MAX,
    mcpSessionsMax: env.MCP_SESSIONS_MAX,
    mcpSessionIdleS: env.MCP_SESSION_IDLE_S,
    mcpSubscriptionsMax: env.MCP_SUBSCRIPTIONS_MAX,
    historyRetentionDays: env.HISTORY_RETENTION_DAYS,
    historyMaxRows: env.HISTORY_MAX_ROWS,
    backupKeep: env.BACKUP_KEEP,
    quarantineKeep: env.QUARANTINE_KEEP,
    restoreFrom: env.RESTORE_FROM?.replace(/^backups\//, ''),
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

/** The volume must be a folder (or not exist yet): a file there is a mistake to name, not a store to degrade around. */
export function checkDataDir (config: Config): void {
  let stat
  try {
    stat = statSync(config.dataDir)
  } catch {
    return
  }
  if (!stat.isDirectory()) throw new ConfigError(`DATA_DIR=${config.dataDir} is not a folder`)
}
