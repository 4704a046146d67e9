/** Each MCP tool is the REST operation it says it mirrors: the operation exists at that method and path, with that scope. */
import t from 'tap'
import { buildTools } from '../src/mcp/tools.js'
import { build } from './helper.js'

t.test('every tool names an existing REST operation and needs exactly its scope', async (t) => {
  const { app } = await build(t)
  const tools = buildTools({ ...app.service, claimWaits: app.service.claims, leaseS: app.service.reaper.leaseS, lane: app.service.history.lane })
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string, security?: Array<{ bearer: string[] }> }>> }
  for (const tool of tools) {
    const { method, path, operationId } = tool.mirrors
    const op = doc.paths[path]?.[method.toLowerCase()]
    t.equal(op?.operationId, operationId, `${tool.name} mirrors ${method} ${path}`)
    t.same(op?.security, [{ bearer: [tool.scope] }], `${tool.name} needs ${tool.scope}, as ${operationId} does`)
  }
  t.equal(new Set(tools.map((x) => x.mirrors.operationId)).size, 10, 'ten tools, ten operations')
})
