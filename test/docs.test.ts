import t from 'tap'
import { build } from './helper.js'

t.test('/docs is an HTML reference listing every operation, served without a token', async (t) => {
  const { app } = await build(t, { AUTH_TOKENS: 'reader-token-0001:read' })
  const res = await app.inject({ url: '/docs' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  const page = res.body
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string }>> }
  let operations = 0
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      operations++
      t.ok(page.includes(`id="op-${op.operationId}"`), `${op.operationId} has its section`)
      t.ok(page.includes(`href="#op-${op.operationId}"`), `${op.operationId} is in the contents`)
      t.ok(page.includes(`${method.toUpperCase()}</span> <code>${path}</code>`), `${method.toUpperCase()} ${path} is shown`)
    }
  }
  t.ok(operations > 20, `${operations} operations`)
  t.match(page, /<code>limit<\/code><\/td><td>query<\/td>/, 'parameters are listed')
  t.match(page, /<code>status<\/code> <span class="type"><a href="#schema-WorkspaceStatus">WorkspaceStatus<\/a>/, 'schemas are shown field by field, named ones as links')
  t.match(page, /id="schema-WorkspaceStatus"><h3>WorkspaceStatus<\/h3><div class="schema"><span class="type"><code>&quot;queued&quot;<\/code> \| <code>&quot;running&quot;<\/code>/, 'a named schema has its own section')
})

t.test('the page is self-contained, escaped, and its links resolve', async (t) => {
  const { app } = await build(t)
  const page = (await app.inject({ url: '/docs' })).body
  t.notMatch(page, /<script/i, 'no scripts')
  t.notMatch(page, /(src|href)="(https?:)?\/\//, 'nothing loaded from elsewhere')
  t.notMatch(page, /Bearer <token>/, 'descriptions are escaped')
  for (const [, target] of page.matchAll(/href="#([^"]+)"/g)) t.ok(page.includes(`id="${target}"`), `#${target} exists`)
  t.equal((await app.inject({ url: '/docs' })).body, page, 'rendered once, served the same')
})
