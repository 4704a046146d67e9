/**
 * Workspaces as MCP resources, over both transports: the template, a paged list, a read equal to REST's, and
 * subscriptions told of every change by the event stream SSE follows, bounded per session.
 */
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import t from 'tap'
import { until } from './helper.js'
import { connect, mcpService, report, rest, VIAS } from './mcp.js'

const uri = (name: string) => `agent-state://workspaces/${name}`

for (const via of VIAS) {
  t.test(`over ${via}`, async (t) => {
    const svc = await mcpService(t, { MCP_SUBSCRIPTIONS_MAX: '2' })
    const { client } = await connect(t, via, svc.url, 'r')
    // 101 workspaces: one more than a page of the resource list.
    await Promise.all(Array.from({ length: 101 }, async (_, i) => await rest(svc.url, 'PUT', `/v1/workspaces/core/r/w${String(i).padStart(3, '0')}`, 'w', report())))

    t.test('the workspace template, and every workspace listed in pages', async (t) => {
      t.match((await client.listResourceTemplates()).resourceTemplates, [{ uriTemplate: 'agent-state://workspaces/{org}/{repo}/{leaf}', name: 'workspace', mimeType: 'application/json' }])
      const first = await client.listResources()
      t.equal(first.resources.length, 100)
      t.match(first.resources[0], { uri: uri('core/r/w000'), name: 'core/r/w000', mimeType: 'application/json', description: 'queued, codex:gpt-5.4, run 0' })
      t.type(first.nextCursor, 'string')
      const second = await client.listResources({ cursor: first.nextCursor })
      t.same(second.resources.map((r) => r.name), ['core/r/w100'])
      t.equal(second.nextCursor, undefined, 'the last page has no cursor')
      await t.rejects(client.listResources({ cursor: 'garbage' }), /invalid_cursor/)
    })

    t.test('a read is the REST record; unknown and malformed URIs are errors', async (t) => {
      const read = await client.readResource({ uri: uri('core/r/w007') })
      t.match(read.contents, [{ uri: uri('core/r/w007'), mimeType: 'application/json' }])
      t.same(JSON.parse((read.contents[0] as { text: string }).text), (await rest(svc.url, 'GET', '/v1/workspaces/core/r/w007')).body)
      await t.rejects(client.readResource({ uri: uri('core/r/none') }), { code: -32002, message: /not_found/ })
      await t.rejects(client.readResource({ uri: uri('core/../etc') }), { code: -32602, message: /not a workspace resource/ })
      await t.rejects(client.readResource({ uri: 'file:///etc/passwd' }), { code: -32602 })
    })

    t.test('a subscribed workspace that changes is notified; others are not; subscriptions are bounded', async (t) => {
      const updated: string[] = []
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updated.push(n.params.uri) })
      await client.subscribeResource({ uri: uri('core/r/w001') })
      await client.subscribeResource({ uri: uri('core/r/not-yet') })
      await t.rejects(client.subscribeResource({ uri: uri('core/r/w002') }), /limit_reached.*MCP_SUBSCRIPTIONS_MAX/, 'MCP_SUBSCRIPTIONS_MAX per session')
      // In event order: a change nobody follows, then one that is followed.
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/w002', 'w', report({ status: 'blocked', question: 'q' }))
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/w001', 'w', report({ status: 'blocked', question: 'q' }))
      await until('the notification', () => updated.length > 0)
      t.same(updated, [uri('core/r/w001')])
      // Reading on the notification finds the change.
      t.match(JSON.parse(((await client.readResource({ uri: uri('core/r/w001') })).contents[0] as { text: string }).text), { status: 'blocked' })

      await client.unsubscribeResource({ uri: uri('core/r/w001') })
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/w001', 'w', report({ status: 'queued' }))
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/not-yet', 'w', report())
      await until('the second notification', () => updated.length > 1)
      t.same(updated, [uri('core/r/w001'), uri('core/r/not-yet')], 'a workspace created after the subscription is notified; the unsubscribed one is not')
    })
  })
}
