/**
 * Pool configuration (API §5): `agents.yaml` on the volume or `PUT /v1/config`. Validated as a whole,
 * with errors that name the bad key; a pool with no limit is unlimited.
 */
import { randomBytes } from 'node:crypto'
import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Type, type Static } from 'typebox'
import Compile from 'typebox/compile'
import { DomainError, type FieldError } from '../core/errors.js'
import { readVolumeFile, UnusableFileError, VOLUME_FILE_MAX_BYTES } from '../core/volume-file.js'
import { POOL_PATTERN } from '../workspaces/model.js'

const Count = Type.Integer({ minimum: 0, maximum: 100000 })

const ConcurrencyEntry = Type.Union([
  Count,
  Type.Object({ total: Type.Optional(Count) }, { additionalProperties: Count, description: '`total` plus a sub-limit per model.' })
], { description: 'A number (the pool total; 0 = unlimited), or `{total, <model>: n}`.' })

const RateEntry = Type.Object({
  daily_limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, description: 'Runs a day; 0 or absent = no budget.' })),
  reset_utc: Type.Optional(Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'When the day turns, `HH:MM` UTC (default 06:00, as in the Go agent).' })),
  // The Go agent's pacing keys are accepted so its agents.yaml loads unchanged; this service does not pace.
  min_delay: Type.Optional(Type.Number({ minimum: 0 })),
  sustained_delay: Type.Optional(Type.Number({ minimum: 0 })),
  burst_window: Type.Optional(Type.Number({ minimum: 0 })),
  burst_delay: Type.Optional(Type.Number({ minimum: 0 }))
}, { additionalProperties: false })

const BackoffPolicy = Type.Object({
  fail_threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Fast failures in a row that back a pool off (3).' })),
  fast_fail_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, description: 'A failure this soon after the start is fast (60).' })),
  backoff_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 604800, description: 'How long the automatic backoff lasts (1800).' }))
}, { additionalProperties: false })

const sections = {
  concurrency: Type.Optional(Type.Record(Type.String({ pattern: POOL_PATTERN }), ConcurrencyEntry)),
  rates: Type.Optional(Type.Record(Type.String({ pattern: POOL_PATTERN }), RateEntry)),
  backoff: Type.Optional(BackoffPolicy)
}

/** The body of PUT /v1/config: only the sections this service uses. */
export const AgentsConfigSchema = Type.Object(sections, { additionalProperties: false, description: 'Pool limits, daily budgets and the automatic backoff policy.' })
export type AgentsConfig = Static<typeof AgentsConfigSchema>

// The file may hold the Go agent's other sections (dispatch, agents, …): they are ignored, not errors.
const AgentsFile = Compile(Type.Object(sections))
const AgentsBody = Compile(AgentsConfigSchema)

export interface PoolLimit {
  /** null = unlimited. */
  total: number | null
  models: Record<string, number>
}

export interface Settings {
  source: AgentsConfig
  limits: Map<string, PoolLimit>
  rates: Map<string, { dailyLimit: number | null, resetUtc: string }>
  failThreshold: number
  fastFailS: number
  backoffS: number
}

export const DEFAULT_RESET_UTC = '06:00'

/** Checks a parsed configuration; throws a 400 listing each bad key. */
export function validateConfig (value: unknown, strict: boolean): AgentsConfig {
  const check = strict ? AgentsBody : AgentsFile
  if (check.Check(value)) return value as AgentsConfig
  const errors: FieldError[] = [...check.Errors(value)].map((e) => ({
    field: e.instancePath.split('/').filter(Boolean).join('.') || (e.params as { additionalProperties?: string[] }).additionalProperties?.join(',') || '(root)',
    message: e.message
  }))
  throw new DomainError('invalid_config', `invalid configuration at ${errors.map((e) => e.field).join(', ')}`, errors)
}

export function toSettings (source: AgentsConfig): Settings {
  const limits = new Map<string, PoolLimit>()
  for (const [pool, entry] of Object.entries(source.concurrency ?? {})) {
    if (typeof entry === 'number') {
      limits.set(pool, { total: entry > 0 ? entry : null, models: {} })
    } else {
      const { total, ...models } = entry as Record<string, number>
      limits.set(pool, { total: total !== undefined && total > 0 ? total : null, models: Object.fromEntries(Object.entries(models).filter(([, n]) => n > 0)) })
    }
  }
  const rates = new Map(Object.entries(source.rates ?? {}).map(([pool, r]) => [pool, {
    dailyLimit: r.daily_limit !== undefined && r.daily_limit > 0 ? r.daily_limit : null,
    resetUtc: r.reset_utc ?? DEFAULT_RESET_UTC
  }]))
  return {
    source,
    limits,
    rates,
    failThreshold: source.backoff?.fail_threshold ?? 3,
    fastFailS: source.backoff?.fast_fail_s ?? 60,
    backoffS: source.backoff?.backoff_s ?? 1800
  }
}

export const agentsFile = (dataDir: string): string => join(dataDir, 'agents.yaml')

// The YAML library is loaded when there is YAML to read or write: most starts have no agents.yaml.
const loadYaml = (): Promise<typeof import('yaml')> => import('yaml')

/** Reads `$DATA_DIR/agents.yaml`: undefined when there is none; throws a DomainError naming the bad key. */
export async function readAgentsFile (dataDir: string): Promise<AgentsConfig | undefined> {
  let text: string
  try {
    text = readVolumeFile(dataDir, agentsFile(dataDir), VOLUME_FILE_MAX_BYTES)
  } catch (err) {
    if (!(err instanceof UnusableFileError)) throw err
    if (err.code === 'missing') return undefined
    throw new DomainError('invalid_config', `agents.yaml is unusable: ${err.message}`)
  }
  let parsed: unknown
  try {
    parsed = (await loadYaml()).parse(text, { uniqueKeys: true }) ?? {}
  } catch (err) {
    throw new DomainError('invalid_config', `agents.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`)
  }
  const config = validateConfig(parsed, false)
  // Keep only the sections this service uses, so what is stored and served is exactly what applies.
  return Object.fromEntries(Object.entries({ concurrency: config.concurrency, rates: config.rates, backoff: config.backoff }).filter(([, v]) => v !== undefined))
}

/**
 * Writes the sections this service owns into agents.yaml atomically, keeping every other section
 * (the Go agent's `dispatch`, `agents`, …) and its comments as they were.
 */
export async function writeAgentsFile (dataDir: string, config: AgentsConfig): Promise<void> {
  const path = agentsFile(dataDir)
  let text = ''
  try {
    text = readVolumeFile(dataDir, path, VOLUME_FILE_MAX_BYTES)
  } catch (err) {
    if (!(err instanceof UnusableFileError)) throw err
    // Its other sections cannot be kept from a file that cannot be read, and a FIFO or a link is someone's: left as it is.
    if (err.code !== 'missing') throw new DomainError('config_file_unusable', `agents.yaml is unusable (${err.message}), so it was neither read nor replaced; nothing was changed`)
  }
  // A file that is not a YAML mapping (or not there) is replaced; a mapping keeps its other sections.
  const { Document, isMap, parseDocument } = await loadYaml()
  const parsed = parseDocument(text)
  const doc = parsed.errors.length === 0 && isMap(parsed.contents) ? parsed : new Document({})
  for (const key of ['concurrency', 'rates', 'backoff'] as const) {
    if (config[key] === undefined) doc.delete(key)
    else doc.set(key, doc.createNode(config[key]))
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(tmp, doc.toString())
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
