/**
 * `agent-state mcp`, the stdio bridge, as an MCP client launches it: it answers the handshake without the
 * service, says plainly when the service cannot be reached or refuses the token, rides through a restart of
 * the service (a new session, its subscriptions renewed), and ends its session when its client goes.
 */
import { spawn } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import t, { type Test } from 'tap'
import { startService } from './child.js'
import { until } from './helper.js'
import { call, connect, refusal, report, rest, text, TOKENS } from './mcp.js'

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** `agent-state mcp` driven by hand, as newline-delimited JSON-RPC: initialized, with one tools/call (id 2) sent. */
function rawBridge (t: Test, url: string, token: string, tool: string) {
  const bridge = spawn(process.execPath, ['dist/cli/main.js', 'mcp'], { env: { PATH: process.env.PATH ?? '', AGENT_STATE_URL: url, AGENT_STATE_TOKEN: token } })
  const exited = new Promise<number | string>((resolve) => bridge.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  t.teardown(() => { bridge.kill('SIGKILL') })
  let out = ''
  bridge.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const send = (m: unknown) => bridge.stdin.write(JSON.stringify(m) + '\n')
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })
  send({ jsonrpc: '2.0', method: 'notifications/initialized' })
  send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: tool, arguments: {} } })
  /** The result of the call, once it came. */
  const answer = async () => {
    await until('the answer to the call', () => out.includes('"id":2'))
    return (JSON.parse(out.split('\n').find((l) => l.includes('"id":2')) as string) as { result: CallToolResult }).result
  }
  return { bridge, exited, answer }
}

t.test('the handshake needs no service; a call says the service cannot be reached, then works once it is up', async (t) => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const bridge = await connect(t, 'stdio', url, 'w', { listTools: false })
  t.match(bridge.client.getServerVersion(), { name: 'agent-state' })
  t.match(bridge.client.getServerCapabilities(), { tools: {}, resources: { subscribe: true } })
  t.match(refusal(await call(bridge, 'get_status')), new RegExp(`^cannot reach ${url}/mcp: ECONNREFUSED`))
  await t.rejects(bridge.client.listTools(), /cannot reach/, 'other requests are errors naming the same')
  const svc = await startService(t, { DATA_DIR: t.testdir(), AUTH_TOKENS: TOKENS, PORT: String(port) })
  t.match((await call(bridge, 'get_status')).structuredContent, { total: 0 }, 'reached once it is up')
  t.equal(svc.url, url)
})

t.test('a token the service refuses is a tool error with its problem', async (t) => {
  const svc = await startService(t, { DATA_DIR: t.testdir(), AUTH_TOKENS: TOKENS })
  const { client } = await connect(t, 'stdio', svc.url, 'w')
  const answer = await rawBridge(t, svc.url, 'nope', 'get_status').answer()
  t.equal(answer.isError, true)
  t.match(text(answer), /^401 unauthorized: the bearer token is not recognised/)
  t.match((await client.callTool({ name: 'get_status', arguments: {} })).structuredContent, { total: 0 }, 'a good token through another bridge still works')
})

t.test('the bridge rides through a restart of the service: calls go on, subscriptions are renewed', async (t) => {
  const port = await freePort()
  const env = { DATA_DIR: t.testdir(), AUTH_TOKENS: TOKENS, PORT: String(port) }
  const first = await startService(t, env)
  const bridge = await connect(t, 'stdio', first.url, 'w')
  const updated: string[] = []
  bridge.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updated.push(n.params.uri) })
  await call(bridge, 'report_workspace', { workspace: 'core/r/one', ...report() })
  await bridge.client.subscribeResource({ uri: 'agent-state://workspaces/core/r/one' })

  first.proc.kill('SIGTERM')
  t.equal(await first.exited, 0)
  const second = await startService(t, env)
  // The old session is unknown to the new process: the bridge opens a new one and sends the call again.
  const after = await call(bridge, 'get_workspace', { workspace: 'core/r/one' })
  t.match(after.structuredContent, { name: 'core/r/one', status: 'queued' }, 'the call went through after the restart')
  await rest(second.url, 'PUT', '/v1/workspaces/core/r/one', 'w', report({ status: 'blocked', question: 'still there?' }))
  await until('the notification after the restart', () => updated.length > 0)
  t.same(updated, ['agent-state://workspaces/core/r/one'])
})

t.test('when its client goes, the bridge ends its session and exits 0', async (t) => {
  const svc = await startService(t, { DATA_DIR: t.testdir(), AUTH_TOKENS: TOKENS })
  const { bridge, exited, answer } = rawBridge(t, svc.url, 'r', 'list_pools')
  t.match(text(await answer()), /^POOL\s+RUNNING/)
  const metrics = async () => await (await fetch(`${svc.url}/metrics`, { headers: { authorization: 'Bearer r' } })).text()
  t.match(await metrics(), /agent_state_mcp_sessions 1/)
  bridge.stdin.end()
  t.equal(await exited, 0)
  t.match(await metrics(), /agent_state_mcp_sessions 0/, 'its session was ended, not left to expire')
})
