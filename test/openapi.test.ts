import { readFileSync } from 'node:fs'
import t from 'tap'
import { openApiDocument } from '../src/scripts/openapi-document.js'
import { build } from './helper.js'

t.test('the committed openapi/openapi.json is the document the routes generate', async (t) => {
  const committed = JSON.parse(readFileSync('openapi/openapi.json', 'utf8'))
  t.same(await openApiDocument(), committed, 'run `npm run openapi` and commit the result')
})

t.test('GET /openapi.json serves the same document; every operation is described', async (t) => {
  const { app } = await build(t, { AUTH_TOKENS: 'doc-reader-token-01:read' })
  const res = await app.inject({ url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.equal(doc.openapi, '3.1.0')
  t.same(doc, JSON.parse(readFileSync('openapi/openapi.json', 'utf8')))
  const ids = new Set<string>()
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { operationId?: string, tags?: string[], summary?: string, responses?: Record<string, unknown> }>>)) {
    for (const [method, op] of Object.entries(ops)) {
      t.ok(op.operationId, `${method} ${path} has an operationId`)
      t.notOk(ids.has(op.operationId as string), `${op.operationId} is unique`)
      ids.add(op.operationId as string)
      t.ok(op.tags?.length, `${op.operationId} has tags`)
      t.ok(op.summary, `${op.operationId} has a summary`)
      t.ok(Object.keys(op.responses ?? {}).length > 0, `${op.operationId} lists its responses`)
      if (path.startsWith('/v1/')) t.ok(op.responses?.['401'] && op.responses?.['403'], `${op.operationId} documents 401 and 403`)
    }
  }
})
