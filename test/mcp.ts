/**
 * MCP test helpers: the SDK's own client, over Streamable HTTP to the real service's `/mcp`, or over stdio to
 * the real `agent-state mcp` (built `dist/cli/main.js`) forwarding to it. Tools are listed once per client
 * first, so the SDK client checks every structured answer against the tool's output schema.
 */
import type { Readable } from 'node:stream'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { Test } from 'tap'
import { startService, type Service } from './child.js'

export const TOKENS = 'r:read,w:write,a:admin'
export type Token = 'r' | 'w' | 'a'
export type Via = 'http' | 'stdio'
export const VIAS: Via[] = ['http', 'stdio']

/** The compiled service with a read, a write and an admin token. */
export async function mcpService (t: Test, env: Record<string, string> = {}): Promise<Service> {
  return await startService(t, { DATA_DIR: t.testdir(), AUTH_TOKENS: TOKENS, ...env })
}

export interface McpClient {
  client: Client
  /** The bridge's stderr so far (stdio only). */
  readonly stderr: string
}

/** An SDK client connected over `via` with `token` (and the tools listed, unless told not to); closed at teardown. */
export async function connect (t: Test, via: Via, url: string, token: Token | null, { listTools = true } = {}): Promise<McpClient> {
  const client = new Client({ name: 'agent-state-test', version: '1.0.0' })
  let stderr = ''
  const transport = via === 'http'
    ? new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: token === null ? {} : { authorization: `Bearer ${token}` } } })
    : new StdioClientTransport({
      command: process.execPath,
      args: ['dist/cli/main.js', 'mcp'],
      env: { PATH: process.env.PATH ?? '', AGENT_STATE_URL: url, ...(token === null ? {} : { AGENT_STATE_TOKEN: token }) },
      stderr: 'pipe'
    })
  if (transport instanceof StdioClientTransport) (transport.stderr as Readable | null)?.on('data', (d: Buffer) => { stderr += d.toString() })
  t.teardown(async () => await client.close())
  await client.connect(transport)
  if (listTools) await client.listTools()
  return { client, get stderr () { return stderr } }
}

/** Calls a tool; the SDK client has checked `structuredContent` against the tool's output schema. */
export async function call (c: McpClient, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return await c.client.callTool({ name, arguments: args }) as CallToolResult
}

/** The text of a tool's answer. */
export const text = (r: CallToolResult): string => (r.content[0] as { text: string }).text

/** The problem line of a refused call (`409 stale_run: …`), or a failure naming what came instead. */
export function refusal (r: CallToolResult): string {
  return r.isError === true ? text(r) : `not refused: ${JSON.stringify(r.structuredContent)}`
}

/** A REST call with a token: status and parsed body. */
export async function rest (url: string, method: string, path: string, token: Token = 'a', body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const raw = await res.text()
  return { status: res.status, body: raw === '' ? null : JSON.parse(raw) }
}

/** A report body for REST or the arguments of report_workspace (with `workspace`). */
export const report = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ status: 'queued', agent: 'codex:gpt-5.4', runs: 0, task: 'fix the tests', ...over })
