/**
 * The JSON body parser. It replaces Fastify's default one, which keeps the last of two equal keys silently:
 * `{"status":"running","status":"failed"}` would be stored as failed although the sender may have meant
 * either. Such a body is ambiguous, so it is refused (400 `invalid_json`), like any other invalid JSON.
 * Prototype-poisoning protection stays: secure-json-parse (Fastify's own parser) refuses `__proto__` and
 * `constructor.prototype` keys.
 */
import secureJsonParse from 'secure-json-parse'
import type { FastifyRequest } from 'fastify'
import { DomainError } from '../../store/core/errors.js'

/**
 * How deeply arrays and objects may nest in a body. Every schema is at most 4 levels deep, and a free-form
 * object (a dispatch, a finding) has no reason to go past a few dozen; without a bound, 1 MiB of `[[[[…` parses
 * fine but overflows the stack where the value is later serialised (JSON.stringify recurses): a 500.
 */
export const MAX_JSON_DEPTH = 64

const invalidJson = (detail: string): DomainError => new DomainError('invalid_json', detail)

/**
 * What is wrong with the shape of `text`: a key that appears twice in one object, or nesting deeper than
 * MAX_JSON_DEPTH; undefined when nothing is. `text` must be valid JSON (it is
 * scanned after it parsed), so the scanner only has to find strings, the brackets around them and the commas
 * and colons between them; a key's escapes are decoded before comparing (`"a"` and `"\u0061"` are equal).
 */
export function shapeProblem (text: string): string | undefined {
  // One entry per open container: the keys seen so far in an object, null for an array.
  const stack: Array<Set<string> | null> = []
  // True right after `{` or `,` inside an object: the next string is a key.
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      const start = i
      let escaped = false
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x5c /* \ */) { escaped = true; i++ } else if (d === 0x22) break
      }
      if (expectKey) {
        const raw = text.slice(start + 1, i)
        const key = escaped ? JSON.parse(text.slice(start, i + 1)) as string : raw
        const keys = stack[stack.length - 1] as Set<string>
        if (keys.has(key)) return `the key ${JSON.stringify(key.slice(0, 64))} appears twice in one object`
        keys.add(key)
        expectKey = false
      }
    } else if (c === 0x7b /* { */) {
      stack.push(new Set()); expectKey = true
      if (stack.length > MAX_JSON_DEPTH) return `arrays and objects nest deeper than ${MAX_JSON_DEPTH} levels`
    } else if (c === 0x5b /* [ */) {
      stack.push(null); expectKey = false
      if (stack.length > MAX_JSON_DEPTH) return `arrays and objects nest deeper than ${MAX_JSON_DEPTH} levels`
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop(); expectKey = false
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null
    }
  }
  return undefined
}

export function parseJsonBody (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  // Bodies are not decompressed (reports are a few hundred bytes): say so, rather than that the bytes are not JSON.
  const encoding = request.headers['content-encoding']
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return done(new DomainError('unsupported_media_type', `the body has Content-Encoding ${JSON.stringify(encoding.slice(0, 32))}; send it uncompressed`))
  }
  const text = typeof body === 'string' ? body : body.toString('utf8')
  if (text.length === 0) return done(invalidJson('the body is empty; send a JSON value'))
  let value: unknown
  try {
    value = secureJsonParse(text, { protoAction: 'error', constructorAction: 'error' })
  } catch (err) {
    return done(invalidJson(`the body is not valid JSON: ${(err as Error).message}`))
  }
  const problem = shapeProblem(text)
  if (problem !== undefined) return done(invalidJson(problem))
  done(null, value)
}
