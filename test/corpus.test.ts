/**
 * The bad-input corpus (issue item 5): for every route of the app's own OpenAPI document, invalid inputs, a
 * hand list plus fast-check generated ones, must each be answered with a 4xx problem+json, never a 5xx, and a
 * dump of all state (every read route, the store's rows, the event log, the files) must not change.
 * CORPUS_SEED=<n> replays a run; the seed in use is printed.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { decodeCursor } from '../src/store/core/cursor.js'
import { ADMIN, AUTH, BODY_LIMIT, READER, dump, notAProblem, seededApp } from './corpus-helpers.js'

// About 2,800 requests through every route's validation and a full state dump around them: well under a minute
// on a quiet 2-core machine, more when the machine is shared.
t.setTimeout(300_000)
const SEED = process.env.CORPUS_SEED !== undefined ? Number(process.env.CORPUS_SEED) : 20300115
// Generated cases per property (CORPUS_RUNS raises it for a deeper local run).
const RUNS = process.env.CORPUS_RUNS !== undefined ? Number(process.env.CORPUS_RUNS) : 100
t.comment(`corpus seed ${SEED} (set CORPUS_SEED to replay another)`)

type Schema = Record<string, any>
interface Param { in: 'path' | 'query' | 'header', name: string, required?: boolean, schema: Schema }
interface Op { method: string, path: string, id: string, params: Param[], body?: Schema, scope?: string }
interface Case { label: string, method: string, url: string, headers?: Record<string, string | undefined>, payload?: string, expect?: number | string }

// Routes with no input at all; /v1/metrics is not in the document.
const NO_INPUT = new Set(['/healthz', '/readyz', '/docs', '/openapi.json', '/metrics',
  // JSON-RPC, not REST: its errors are JSON-RPC errors and tool errors (test/mcp-http.test.ts, test/mcp-tools.test.ts).
  '/mcp'])

/** The document with every `$ref` to a named schema replaced by the schema, so cases can read fields and enums. */
function inlineRefs (node: unknown, schemas: Record<string, Schema>): any {
  if (Array.isArray(node)) return node.map((n) => inlineRefs(n, schemas))
  if (typeof node !== 'object' || node === null) return node
  const ref = (node as Schema).$ref
  if (typeof ref === 'string') return inlineRefs(schemas[ref.replace('#/components/schemas/', '')], schemas)
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inlineRefs(v, schemas)]))
}

function operations (app: FastifyInstance): Op[] {
  const raw = app.swagger() as unknown as { paths: unknown, components: { schemas: Record<string, Schema> } }
  const doc = { paths: inlineRefs(raw.paths, raw.components.schemas) as Record<string, Record<string, Schema>> }
  const ops: Op[] = []
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (NO_INPUT.has(path)) continue
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content?.['application/json']?.schema as Schema | undefined
      ops.push({ method: method.toUpperCase(), path, id: op.operationId, params: op.parameters ?? [], body, scope: op.security?.[0]?.bearer?.[0] })
    }
  }
  return ops
}

/** A valid body per operation, so a case can make exactly one other thing wrong. */
const VALID_BODY: Record<string, unknown> = {
  reportWorkspace: { status: 'running', agent: 'codex:gpt-5.4', runs: 1, task: 'fix the tests' },
  heartbeatWorkspace: { runs: 1 },
  setPoolBackoff: { seconds: 60, reason: 'corpus' },
  putConfig: { concurrency: { codex: 4 } },
  claimQueued: { pool: 'codex' },
  enqueueSync: { agent_id: 'corpus', dispatches: [{ id: 2 }] },
  createBuffer: { name: 'qa-corpus' },
  addBufferEntries: { kind: 'finding', data: { tool: 'vet' } },
  createBackup: { name: 'corpus-backup' }
}

const STREAM = 'streamEvents'

function validParams (syncId: string): Record<string, string> {
  return { org: 'core', repo: 'go-io', leaf: 'task-1', pool: 'codex', name: 'qa-core-go-io-task-1', id: syncId, dataset: 'runs' }
}

function urlOf (op: Op, params: Record<string, string>, query = ''): string {
  return op.path.replace(/\{(\w+)\}/g, (_, p: string) => params[p] as string) + (query === '' ? '' : `?${query}`)
}

/** Required query values, so a case can make exactly one other query parameter wrong. */
const REQUIRED_QUERY: Record<string, string> = { workspace: 'core/go-io/task-4' }
function baseQuery (op: Op, except: string): string[] {
  return op.params.filter((p) => p.in === 'query' && p.required === true && p.name !== except).map((p) => `${p.name}=${encodeURIComponent(REQUIRED_QUERY[p.name] ?? 'x')}`)
}

function matches (schema: Schema, value: string): boolean {
  return schema.pattern === undefined || new RegExp(schema.pattern, 'u').test(value)
}

// Path segments: traversal, dot segments, encoded slashes and NULs, overlong, unicode, control characters, bad escapes.
const BAD_SEGMENTS = [
  '..', '.', '%2E%2E', '..%2F..%2Fetc', '%2Fetc%2Fpasswd', 'a%2Fb', 'a%5Cb', '%00', 'a%00b', '%0Aa', 'a%09b', 'a%20b', '-lead', '.hidden', '_x',
  'a'.repeat(101), 'a'.repeat(129), 'a'.repeat(257), 'a'.repeat(2000), 't%C3%A9st', '%E2%80%AEevil', '%F0%9F%92%A5', '%E0%A4%A', '%', '%zz', '%C0%AE%C0%AE'
]

/** Values of every kind that `schema` refuses (JSON bodies are not coerced). */
function invalidValues (schema: Schema, depth = 0): unknown[] {
  const generic = [null, true, 'x', 1.5, -1e308, [], {}]
  if (schema.anyOf !== undefined) return [null, true, 'x', 1.5, -1, 1e308]
  const notString = [null, true, 1, 1.5, [], {}, ['x']]
  switch (schema.type) {
    case 'string': {
      const out: unknown[] = [...notString]
      if (schema.pattern !== undefined) out.push(...['../x', '', 'a/b/c/d', 'ü', ' x', 'x\u0000', 'a'.repeat(300)].filter((s) => !matches(schema, s)))
      if (schema.maxLength !== undefined) out.push('x'.repeat(schema.maxLength + 1))
      if (schema.minLength !== undefined && schema.minLength > 0) out.push('')
      if (schema.enum !== undefined) out.push('nope', '', 'RUNNING')
      if (schema.format === 'date-time') out.push('yesterday', '2030-13-45T00:00:00Z', '', '1700000000')
      return out
    }
    case 'integer':
    case 'number': {
      const out: unknown[] = [null, true, '1', 'x', [], {}, [1]]
      if (schema.type === 'integer') out.push(1.5, 1e-9)
      if (schema.minimum !== undefined) out.push(schema.minimum - 1, -1e308)
      if (schema.maximum !== undefined) out.push(schema.maximum + 1, 1e308, 2 ** 64)
      return out
    }
    case 'boolean': return [null, 'true', 1]
    case 'array': {
      const out: unknown[] = [null, 'x', 1, {}, true]
      if (schema.minItems !== undefined && schema.minItems > 0) out.push([])
      if (schema.maxItems !== undefined && schema.maxItems <= 1000) out.push(Array.from({ length: schema.maxItems + 1 }, () => ({})))
      if (schema.items !== undefined && depth < 3) out.push(...invalidValues(schema.items, depth + 1).slice(0, 3).map((v) => [v]))
      return out
    }
    case 'object': {
      const out: unknown[] = [null, 'x', 1, [], true]
      if (schema.additionalProperties === false) out.push({ bogus: 1 })
      if (depth < 3) {
        for (const [p, s] of Object.entries(schema.properties ?? {})) out.push(...invalidValues(s as Schema, depth + 1).slice(0, 4).map((v) => ({ [p]: v })))
        if (typeof schema.additionalProperties === 'object') out.push(...invalidValues(schema.additionalProperties, depth + 1).slice(0, 4).map((v) => ({ someKey: v })))
      }
      return out
    }
    default: return generic
  }
}

/** Query values `schema` refuses, as they arrive: strings. */
function invalidQueryValues (name: string, schema: Schema): string[] {
  if (name === 'cursor') return ['garbage', '!!!', 'eyJrIjoxfQ', 'bnVsbA', 'e30', '%FF%FE', 'x'.repeat(513), '..%2F..%2F']
  if (schema.type === 'integer') {
    const out = ['abc', '1.5', '', 'true', '1e400', '-1e400', 'NaN', 'Infinity', '99999999999999999999999', '1,2', '[1]']
    if (schema.minimum !== undefined) out.push(String(schema.minimum - 1), '-99999999999')
    if (schema.maximum !== undefined) out.push(String(schema.maximum + 1))
    return out
  }
  if (schema.format === 'date-time') return ['yesterday', '2030-13-45T00:00:00Z', '1700000000', '2030-01-01', '..%2F..%2Fetc', '%00', '%zz']
  const out = ['..%2F..%2Fetc', '%00', 'a'.repeat(600), '%E2%80%AE', '%zz']
  if (schema.enum !== undefined) out.push('nope', '', 'JSON')
  return out.filter((v) => { try { return !matches(schema, decodeURIComponent(v)) || schema.enum !== undefined } catch { return true } })
}

function json (v: unknown): string { return JSON.stringify(v) }

/** The hand list for one operation. */
function handCases (op: Op, syncId: string): Case[] {
  const cases: Case[] = []
  const params = validParams(syncId)
  const url = urlOf(op, params, baseQuery(op, '').join('&'))
  const body = VALID_BODY[op.id]
  const hasBody = op.body !== undefined
  const jsonHeaders = { 'content-type': 'application/json' }
  const base = (label: string, extra: Partial<Case>): Case => ({
    label: `${op.method} ${op.path}: ${label}`,
    method: op.method,
    url,
    ...(hasBody ? { payload: json(body), headers: jsonHeaders } : {}),
    ...extra,
    headers: { ...(hasBody ? jsonHeaders : {}), ...extra.headers }
  })
  // Streams only with a bad query or header: a valid request would open a stream that never ends.
  const isStream = op.id === STREAM

  if (op.scope !== undefined) {
    for (const auth of [undefined, 'Bearer nope', 'Basic Y29ycHVzOnB3', 'Bearer', 'Bearer  ', `Bearer ${ADMIN} extra`, `Token ${ADMIN}`, `Bearer ${ADMIN.toUpperCase()}`, 'Bearer ' + 'x'.repeat(5000)]) {
      cases.push(base(`authorization ${String(auth).slice(0, 30)}`, { headers: { authorization: auth }, expect: 401 }))
    }
    if (op.scope !== 'read') cases.push(base('read token', { headers: { authorization: `Bearer ${READER}` }, expect: 403 }))
  }

  for (const p of op.params.filter((x) => x.in === 'path')) {
    for (const seg of BAD_SEGMENTS) cases.push(base(`path ${p.name}=${seg.slice(0, 20)}`, { url: urlOf(op, { ...params, [p.name]: seg }) }))
  }

  const queryParams = op.params.filter((x) => x.in === 'query')
  for (const p of queryParams) {
    for (const v of invalidQueryValues(p.name, p.schema)) {
      // An overlong cursor fails the schema (validation_failed) before it is decoded; any other bad one is invalid_cursor.
      const expect = p.name === 'cursor' && v.length <= 512 ? 'invalid_cursor' : undefined
      cases.push(base(`query ${p.name}=${v.slice(0, 20)}`, { url: urlOf(op, params, [...baseQuery(op, p.name), `${p.name}=${v}`].join('&')), ...(expect !== undefined ? { expect } : {}) }))
    }
    if (p.required === true) cases.push(base(`query ${p.name} missing`, { url: urlOf(op, params, baseQuery(op, p.name).join('&')) }))
  }
  if (queryParams.length > 0) cases.push(base('unknown query parameter', { url: urlOf(op, params, [...baseQuery(op, ''), 'bogus=1'].join('&')) }))

  for (const h of op.params.filter((x) => x.in === 'header')) {
    const values = h.name === 'if-match'
      ? ['"nope"', 'W/"nope"', 'garbage', '"a", "b"', '""', 'x'.repeat(1025), '"' + 'ü'.repeat(10) + '"']
      : h.name === 'idempotency-key' ? ['', 'x'.repeat(201), 'ключ', 'a\u00ffb'] : ['abc', '-1', '1.5', '1e400', '99999999999999999999', 'x']
    for (const v of values) cases.push(base(`header ${h.name}: ${v.slice(0, 20)}`, { headers: { [h.name]: v } }))
  }

  if (isStream) return cases

  if (hasBody) {
    const schema = op.body as Schema
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json-patch+json', 'application/problem+json', 'json', '']) {
      cases.push(base(`content-type ${ct}`, { headers: { 'content-type': ct }, expect: 415 }))
    }
    cases.push(base('no content-type', { headers: { 'content-type': undefined }, expect: 415 }))
    for (const bad of ['{', '{"status":', "{'a':1}", 'NaN', '[1,]', '{"a":1}}', '', ' ', 'null null', '\u0000', '{"a":1,}', '\ufeff', '{"a":"\\x"}']) {
      cases.push(base(`invalid JSON ${JSON.stringify(bad)}`, { payload: bad, expect: 400 }))
    }
    const text = json(body)
    if (text.startsWith('{"')) {
      const firstKey = text.slice(1, text.indexOf('":') + 2)
      cases.push(base('duplicate key', { payload: `{${firstKey}null,${text.slice(1)}`, expect: 'invalid_json' }))
      cases.push(base('duplicate key, escaped', { payload: `${text.slice(0, -1)},${firstKey.replace(/^"(.)/, (_, c: string) => `"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}null}`, expect: 'invalid_json' }))
      cases.push(base('__proto__', { payload: `${text.slice(0, -1)},"__proto__":{"admin":true}}`, expect: 'invalid_json' }))
      cases.push(base('constructor.prototype', { payload: `${text.slice(0, -1)},"constructor":{"prototype":{"admin":true}}}`, expect: 'invalid_json' }))
      cases.push(base('deeply nested', { payload: `${text.slice(0, -1)},"deep":${'['.repeat(20000)}${']'.repeat(20000)}}`, expect: 'invalid_json' }))
      cases.push(base('oversized', { payload: `${text.slice(0, -1)},"pad":"${'x'.repeat(BODY_LIMIT)}"}`, expect: 413 }))
      cases.push(base('oversized, declared small', { payload: 'x'.repeat(BODY_LIMIT + 10), headers: { 'content-length': '10' } }))
    }
    for (const whole of [null, 1, 'x', true, [], [null], {}]) {
      if (Array.isArray(whole) && schema.anyOf !== undefined && whole.length > 0) continue
      if (whole !== null && typeof whole === 'object' && !Array.isArray(whole) && (schema.required ?? schema.anyOf?.[0]?.required ?? []).length === 0) continue
      cases.push(base(`body ${json(whole)}`, { payload: json(whole), expect: 400 }))
    }
    const obj = (schema.anyOf?.[0] ?? schema) as Schema
    for (const [p, s] of Object.entries(obj.properties ?? {})) {
      for (const v of invalidValues(s as Schema)) cases.push(base(`body ${p}=${json(v).slice(0, 30)}`, { payload: json({ ...(body as object), [p]: v }), expect: 400 }))
    }
    if (obj.additionalProperties === false) cases.push(base('unknown field', { payload: json({ ...(body as object), bogus: 1 }), expect: 400 }))
    for (const r of obj.required ?? []) {
      const { [r]: _, ...rest } = body as Record<string, unknown>
      cases.push(base(`body without ${String(r)}`, { payload: json(rest), expect: 400 }))
    }
  } else if (op.method !== 'GET') {
    cases.push(base('text body', { payload: 'x', headers: { 'content-type': 'text/plain' }, expect: 415 }))
    cases.push(base('invalid JSON', { payload: '{', headers: { 'content-type': 'application/json' }, expect: 400 }))
    cases.push(base('duplicate key', { payload: '{"a":1,"a":2}', headers: { 'content-type': 'application/json' }, expect: 400 }))
    cases.push(base('oversized', { payload: json({ pad: 'x'.repeat(BODY_LIMIT) }), headers: { 'content-type': 'application/json' }, expect: 413 }))
  }
  return cases
}

/** Semantic mistakes a schema cannot express, on real records. */
function semanticCases (): Case[] {
  const h = { 'content-type': 'application/json' }
  const c = (label: string, method: string, url: string, payload: unknown): Case => ({ label, method, url, payload: json(payload), headers: h })
  return [
    c('backoff with both until and seconds', 'PUT', '/v1/pools/codex/backoff', { until: '2031-01-01T00:00:00Z', seconds: 60, reason: 'x' }),
    c('backoff with neither', 'PUT', '/v1/pools/codex/backoff', { reason: 'x' }),
    c('backoff in the past', 'PUT', '/v1/pools/codex/backoff', { until: '2000-01-01T00:00:00Z', reason: 'x' }),
    c('stale run', 'PUT', '/v1/workspaces/core/agent/task-7', { status: 'running', agent: 'codex', runs: 1, task: 'late' }),
    c('finished back to running without a new run', 'PUT', '/v1/workspaces/core/go-io/task-4', { status: 'running', agent: 'codex', runs: 2, task: 'again' }),
    c('heartbeat of a queued workspace', 'POST', '/v1/workspaces/core/go-io/task-2/heartbeat', {}),
    c('heartbeat of another run', 'POST', '/v1/workspaces/core/go-io/task-1/heartbeat', { runs: 7 }),
    c('heartbeat of an unknown workspace', 'POST', '/v1/workspaces/core/go-io/nope/heartbeat', {}),
    c('buffer that exists', 'POST', '/v1/buffers', { name: 'qa-core-go-io-task-1' }),
    c('entries for an unknown buffer', 'POST', '/v1/buffers/qa-nope/entries', { kind: 'x', data: {} }),
    c('commit of an unknown buffer', 'POST', '/v1/buffers/qa-nope/commit', {}),
    c('config with a bad reset time', 'PUT', '/v1/config', { rates: { codex: { reset_utc: '25:00' } } }),
    { label: 'unknown workspace', method: 'GET', url: '/v1/workspaces/core/go-io/nope' },
    { label: 'unknown pool', method: 'GET', url: '/v1/pools/nope' },
    { label: 'replay of an unknown dead letter', method: 'POST', url: '/v1/sync/dead/sq_nope/replay' },
    { label: 'drop of an unknown dead letter', method: 'DELETE', url: '/v1/sync/dead/sq_nope' },
    { label: 'flush without SYNC_URL', method: 'POST', url: '/v1/sync/flush' },
    { label: 'unknown route', method: 'GET', url: '/v1/nothing' },
    { label: 'unknown method', method: 'PATCH', url: '/v1/workspaces/core/go-io/task-1', payload: '{}', headers: h }
  ]
}

async function send (app: FastifyInstance, c: Case) {
  const headers: Record<string, string> = { ...AUTH }
  for (const [k, v] of Object.entries(c.headers ?? {})) {
    if (v === undefined) delete headers[k]
    else headers[k] = v
  }
  const opts: InjectOptions = { method: c.method as InjectOptions['method'], url: c.url, headers, ...(c.payload !== undefined ? { payload: c.payload } : {}) }
  // A request that got through to the event stream would never end: give up on it, it fails the case.
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('no answer within 5 s (a stream opened?)')), 5000) })
  try {
    return await Promise.race([app.inject(opts), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Why the answer to `c` is wrong, or null. */
async function check (app: FastifyInstance, c: Case): Promise<string | null> {
  let res
  try { res = await send(app, c) } catch (err) { return `${c.label}: ${(err as Error).message}` }
  const wrong = notAProblem(res)
  if (wrong !== null) return `${c.label}: ${wrong}`
  if (typeof c.expect === 'number' && res.statusCode !== c.expect) return `${c.label}: ${res.statusCode}, expected ${c.expect}: ${res.body.slice(0, 200)}`
  if (typeof c.expect === 'string' && res.json().code !== c.expect) return `${c.label}: code ${res.json().code}, expected ${c.expect}`
  return null
}

async function withUnchangedState (t: Test, run: (app: FastifyInstance, syncId: string, ops: Op[]) => Promise<void>): Promise<void> {
  const { app, dataDir, syncId } = await seededApp(t)
  const ops = operations(app)
  const before = await dump(app, dataDir)
  await run(app, syncId, ops)
  t.same(await dump(app, dataDir), before, 'every read, every stored row, the event log and the files are as before')
}

t.test('the hand list: every answer is a 4xx problem and nothing changes', async (t) => {
  await withUnchangedState(t, async (app, syncId, ops) => {
    t.ok(ops.length >= 35, `${ops.length} operations from the OpenAPI document`)
    const cases = [...ops.flatMap((op) => handCases(op, syncId)), ...semanticCases()]
    const failures: string[] = []
    for (const c of cases) {
      const wrong = await check(app, c)
      if (wrong !== null) failures.push(wrong)
    }
    t.same(failures, [], `${cases.length} cases`)
  })
})

/** Printable ASCII or Latin-1: what a header value can carry. */
const headerText = (min: number, max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), minLength: min, maxLength: max })

t.test('generated inputs: every answer is a 4xx problem and nothing changes', async (t) => {
  await withUnchangedState(t, async (app, syncId, ops) => {
    const params = validParams(syncId)
    // Operations are drawn by operationId, so a counterexample reads as one.
    const byId = new Map(ops.map((o) => [o.id, o]))
    const opArb = (list: Op[]) => fc.constantFrom(...list.map((o) => o.id)).map((id) => byId.get(id) as Op, (o) => (o as Op).id)
    const params0 = opArb(ops.filter((o) => o.params.some((p) => p.in === 'path')))
    const assertCase = async (c: Case) => {
      const wrong = await check(app, c)
      if (wrong !== null) throw new Error(wrong)
    }
    const settings = { seed: SEED, numRuns: RUNS, endOnFailure: true }
    const segment = fc.oneof(
      fc.constantFrom(...BAD_SEGMENTS),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map(encodeURIComponent),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 12 }).map(encodeURIComponent),
      fc.string({ unit: fc.constantFrom('a', '.', '-', '_', '9'), minLength: 101, maxLength: 300 })
    )

    // Invalid path segments, on every route that has a path parameter; the rest of the request is valid.
    await fc.assert(fc.asyncProperty(params0, fc.nat(), segment, async (op, which, seg) => {
      const pathParams = op.params.filter((p) => p.in === 'path')
      const p = pathParams[which % pathParams.length] as Param
      let decoded: string | null = null
      try { decoded = decodeURIComponent(seg) } catch {}
      fc.pre(decoded === null || (p.schema.pattern !== undefined ? !matches(p.schema, decoded) && decoded.length > 0 : decoded !== syncId))
      const body = VALID_BODY[op.id]
      await assertCase({
        label: `${op.method} ${op.path} ${p.name}=${seg}`,
        method: op.method,
        url: urlOf(op, { ...params, [p.name]: seg }),
        ...(body !== undefined ? { payload: json(body), headers: { 'content-type': 'application/json' } } : {})
      })
    }), settings)

    // Invalid bodies: a valid body with one property of a wrong type or value, an unknown field, or no object at all.
    const bodyOps = ops.filter((o) => o.body !== undefined)
    const bodies = opArb(bodyOps).chain((op) => {
      const schema = (op.body?.anyOf?.[0] ?? op.body) as Schema
      const props = Object.entries(schema.properties ?? {}) as Array<[string, Schema]>
      const valid = VALID_BODY[op.id] as Record<string, unknown>
      const wrongProp = fc.constantFrom(...props).chain(([p, s]) => fc.oneof(fc.constantFrom(...invalidValues(s)), wrongTypeFor(s)).map((v) => ({ ...valid, [p]: v })))
      const unknown = fc.tuple(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !(k in (schema.properties ?? {}))), fc.jsonValue({ maxDepth: 3 })).map(([k, v]) => ({ ...valid, [k]: v }))
      const notObject = fc.jsonValue({ maxDepth: 2 }).filter((v) => v === null || typeof v !== 'object' || (Array.isArray(v) && op.body?.anyOf === undefined))
      return fc.tuple(fc.constant(op.id), fc.oneof(wrongProp, unknown, notObject))
    })
    await fc.assert(fc.asyncProperty(bodies, async ([id, body]) => {
      const op = byId.get(id) as Op
      await assertCase({ label: `${op.method} ${op.path} body ${json(body)?.slice(0, 200)}`, method: op.method, url: urlOf(op, params), payload: json(body), headers: { 'content-type': 'application/json' }, expect: 400 })
    }), settings)

    // Invalid query values, on every route that takes a query.
    const queryOps = ops.filter((o) => o.params.some((p) => p.in === 'query'))
    const queries = opArb(queryOps).chain((op) => fc.constantFrom(...op.params.filter((p) => p.in === 'query')).chain((p) =>
      fc.tuple(fc.constant(op.id), fc.constant(p.name), invalidQueryArb(p))))
    await fc.assert(fc.asyncProperty(queries, async ([id, name, v]) => {
      const op = byId.get(id) as Op
      const p = { name }
      await assertCase({ label: `${op.method} ${op.path} ?${p.name}=${v}`, method: op.method, url: urlOf(op, params, [...baseQuery(op, p.name), `${p.name}=${encodeURIComponent(v)}`].join('&')) })
    }), settings)

    // Garbage headers: Authorization everywhere, If-Match and Idempotency-Key where a route takes them, with an otherwise valid request.
    // Public routes (health, docs, the dashboard's shell) ignore Authorization: only routes with a scope or a header parameter qualify.
    const headerOps = ops.filter((o) => o.scope !== undefined || o.params.some((p) => p.in === 'header'))
    const headers = opArb(headerOps).chain((op) => {
      const choices: Array<fc.Arbitrary<[string, string]>> = []
      if (op.scope !== undefined) choices.push(headerText(0, 80).filter((v) => v.trim() !== `Bearer ${ADMIN}` && v.trim() !== `Bearer ${READER}`).map((v) => ['authorization', v]))
      if (op.params.some((p) => p.name === 'if-match')) choices.push(headerText(1, 80).filter((v) => !v.split(',').some((s) => s.trim().replace(/^W\//, '') === '*') && v.trim() !== '').map((v) => ['if-match', v]))
      if (op.params.some((p) => p.name === 'idempotency-key')) choices.push(fc.oneof(headerText(201, 300), headerText(1, 20).map((v) => `${v}\u00e9`)).map((v) => ['idempotency-key', v]))
      if (op.params.some((p) => p.name === 'last-event-id')) choices.push(headerText(1, 20).filter((v) => !/^\s*\d+(\.0*)?\s*$/.test(v) && v.trim() !== '').map((v) => ['last-event-id', v]))
      return fc.tuple(fc.constant(op.id), fc.oneof(...choices))
    })
    await fc.assert(fc.asyncProperty(headers, async ([id, [name, value]]) => {
      const op = byId.get(id) as Op
      // Only a bad Authorization may reach the stream route without a bad query: anything else would open a stream.
      fc.pre(op.id !== STREAM || name === 'authorization' || name === 'last-event-id')
      const body = VALID_BODY[op.id]
      await assertCase({
        label: `${op.method} ${op.path} ${name}: ${value}`,
        method: op.method,
        url: urlOf(op, params, baseQuery(op, '').join('&')),
        ...(body !== undefined ? { payload: json(body) } : {}),
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), [name]: value }
      })
    }), settings)
  })
})

/** Generated values of a type the schema does not allow. */
function wrongTypeFor (s: Schema): fc.Arbitrary<unknown> {
  const any = [fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 })]
  const pick = (...arbs: Array<fc.Arbitrary<unknown>>) => fc.oneof(...arbs)
  if (s.anyOf !== undefined) return pick(fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n) || n < 0 || n > 100000))
  switch (s.type) {
    case 'string': return pick(fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }))
    case 'integer': return pick(fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n) || (s.minimum !== undefined && n < s.minimum) || (s.maximum !== undefined && n > s.maximum)), fc.array(fc.integer(), { maxLength: 3 }))
    case 'number': return pick(fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.array(fc.integer(), { maxLength: 3 }))
    case 'array': return pick(fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.integer(), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }))
    case 'object': return pick(fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.integer(), fc.array(fc.integer(), { maxLength: 3 }))
    default: return pick(...any)
  }
}

// Anything shaped like an RFC 3339 timestamp, valid or not: generated date-time values stay clear of it.
const TIMESTAMP_SHAPE = /^\s*\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?\s*$/

/**
 * Generated query values the parameter's schema refuses (checked, so no valid value slips through). Every query
 * parameter in the document has a type, pattern, enum or format that refuses something: a filter that could never
 * pass would spin fast-check's generator forever, synchronously, so such a parameter fails loudly instead.
 */
function invalidQueryArb (p: Param): fc.Arbitrary<string> {
  const s = p.schema
  const text = fc.string({ unit: 'grapheme', maxLength: 40 })
  if (p.name === 'cursor') {
    return fc.oneof(text, fc.base64String({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')))
      .filter((c) => { if (c === '') return false; try { decodeCursor(c); return false } catch { return true } })
  }
  if (s.type === 'integer') {
    return fc.oneof(
      text.filter((v) => !/^\s*[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*$/i.test(v) && !/^\s*0x[0-9a-f]+\s*$/i.test(v) && !/^\s*0b[01]+\s*$/i.test(v) && !/^\s*0o[0-7]+\s*$/i.test(v)),
      fc.bigInt({ min: 1n, max: 10n ** 30n }).map((n) => String(BigInt(s.maximum ?? 1e9) + n)),
      fc.bigInt({ min: 1n, max: 10n ** 30n }).map((n) => String(BigInt(s.minimum ?? 0) - n)),
      fc.double({ noNaN: true, min: s.minimum ?? -1e9, max: s.maximum ?? 1e9 }).filter((n) => !Number.isInteger(n)).map(String)
    )
  }
  if (s.format === 'date-time') return text.filter((v) => v.trim() !== '' && !TIMESTAMP_SHAPE.test(v))
  if (s.enum === undefined && s.pattern === undefined) throw new Error(`query parameter ${p.name} accepts every string: no invalid value to generate`)
  return text.filter((v) => v === '' ? true : s.enum !== undefined ? !s.enum.includes(v) : !matches(s, v))
}

t.test('the body scanner finds duplicate keys and deep nesting, and nothing in any valid JSON', async (t) => {
  const { shapeProblem, MAX_JSON_DEPTH } = await import('../src/boot/http/json-body.js')
  for (const ok of ['{"a":"}{\\"a\\":1,","b":{"a":1}}', '[{"a":1},{"a":1}]', '{"a":[1,{"a":2}],"b":"\\"a\\""}', '{"a\\\\":1,"a":2}', '"{\\"a\\":1,\\"a\\":1}"']) {
    t.equal(shapeProblem(ok), undefined, ok)
  }
  for (const dup of ['{"a":1,"a":2}', '{"a":1,"\\u0061":2}', '{"x":{"b":[],"b":{}}}', '[0,{"k":1,"j":2,"k":3}]']) t.match(shapeProblem(dup), /appears twice/, dup)
  t.match(shapeProblem('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1)), /deeper/)
  t.equal(shapeProblem('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)), undefined)
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => shapeProblem(JSON.stringify(v)) === undefined), { seed: SEED, numRuns: 300 })
})
