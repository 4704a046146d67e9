/**
 * One MCP server (a session's): the tools of tools.ts and the workspaces as resources, on the SDK's low-level
 * `Server`. The low-level server takes the tools' JSON Schemas as they are (the SDK's `McpServer` wants Zod
 * schemas, which would be a second definition of every shape) and lets the resource list be paged.
 *
 * Who calls and with which scope comes from the HTTP request that carries the message (routes/mcp.ts puts it
 * in the transport's auth info), so a scope is checked per call exactly as REST checks it per request.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import {
  CallToolRequestSchema, ErrorCode, ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ListToolsRequestSchema,
  McpError, ReadResourceRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema,
  type CallToolResult, type ServerNotification, type ServerRequest
} from '@modelcontextprotocol/sdk/types.js'
import type { TSchema } from 'typebox'
import { grants, type Scope } from '../shared/scopes.js'
import { fieldErrors, type AjvIssue } from '../store/core/field-errors.js'
import { problemType } from '../store/core/problem-types.js'
import { problemLine } from '../client/index.js'
import { DomainError, PROBLEMS } from '../store/core/errors.js'
import { workspaceOf } from '../store/workspaces/answers.js'
import { isSegment, type WorkspaceParams } from '../store/workspaces/model.js'
import type { Workspace } from '../store/workspaces/model.js'
import type { Workspaces } from '../store/workspaces/workspaces.js'
import { CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from './identity.js'
import type { Subscriptions } from './subscriptions.js'
import type { Tool } from './tools.js'

/** What the HTTP route knows about the request a message came in, handed through the transport's auth info. */
export interface RequestScope {
  caller: string
  scope: Scope
  /** The issues of `value` against `schema` under the rules REST applies to a JSON body; null when it is valid. Fills defaults in. */
  validate: (schema: TSchema, value: unknown) => AjvIssue[] | null
  log: { error: (obj: object, msg: string) => void }
  /** Aborts when the HTTP request goes away. */
  signal: AbortSignal
}

export interface ServerDeps {
  tools: Tool[]
  workspaces: Workspaces
  subscriptions: Subscriptions
  /** Throws 503 `store_unavailable` while the store cannot take writes (REST's write guard asks the same). */
  assertWritable: () => void
}

export const WORKSPACE_URI_TEMPLATE = 'agent-state://workspaces/{org}/{repo}/{leaf}'
const URI_PREFIX = 'agent-state://workspaces/'
/** Resources listed per page. */
const RESOURCE_PAGE = 100
// The MCP specification's code for a resource that does not exist.
const RESOURCE_NOT_FOUND = -32002

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

export const workspaceUri = (name: string): string => URI_PREFIX + name

/** The workspace a resource URI names; a malformed URI or name is an invalid-params error naming it. */
function workspaceOfUri (uri: string): WorkspaceParams & { name: string } {
  const segments = uri.startsWith(URI_PREFIX) ? uri.slice(URI_PREFIX.length).split('/') : []
  if (segments.length !== 3 || !segments.every(isSegment)) {
    throw new McpError(ErrorCode.InvalidParams, `not a workspace resource: ${uri} (expected ${WORKSPACE_URI_TEMPLATE}, each segment a name)`)
  }
  const [org, repo, leaf] = segments as [string, string, string]
  return { org, repo, leaf, name: `${org}/${repo}/${leaf}` }
}

function requestOf (extra: Extra): RequestScope {
  const scope = extra.authInfo?.extra?.request as RequestScope | undefined
  // routes/mcp.ts attaches it to every request it hands the transport.
  if (scope === undefined) throw new McpError(ErrorCode.InternalError, 'the message came without its request')
  return scope
}

const problemOf = (err: DomainError) => ({ type: problemType(err.code), title: PROBLEMS[err.code].title, status: err.status, code: err.code, detail: err.message, errors: err.errors })

/** A refusal as the tool result a model reads: the problem's status, code, detail and bad fields, on one line. */
function toolError (err: DomainError): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: problemLine(problemOf(err)) }] }
}

/** A refusal of a resource request, as a JSON-RPC error carrying the problem; anything else is logged, never echoed. */
function resourceError (err: unknown, extra: Extra): McpError {
  if (err instanceof McpError) return err
  if (err instanceof DomainError) return new McpError(err.code === 'not_found' ? RESOURCE_NOT_FOUND : ErrorCode.InvalidParams, problemLine(problemOf(err)), problemOf(err))
  requestOf(extra).log.error({ err }, 'resource request failed')
  return new McpError(ErrorCode.InternalError, 'the server failed to handle this request; the error is in its log')
}

async function callTool (tool: Tool, args: Record<string, unknown> | undefined, extra: Extra, deps: ServerDeps): Promise<CallToolResult> {
  const request = requestOf(extra)
  try {
    // In REST's order: the scope (403), then the arguments (400), then whether the store takes writes (503).
    if (!grants(request.scope, tool.scope)) throw new DomainError('forbidden', `${tool.name} needs the ${tool.scope} scope; the token has ${request.scope}`)
    const value = args ?? {}
    const issues = request.validate(tool.input, value)
    if (issues !== null) {
      const errors = fieldErrors('', issues)
      // A bad value of a name REST takes in its path is `invalid_name` there; a missing one cannot happen there.
      const badName = issues.some((i) => i.keyword !== 'required' && tool.names.includes(i.instancePath.split('/')[1] ?? ''))
      throw badName
        ? new DomainError('invalid_name', 'a name is invalid; `errors` says which and the pattern it must match', errors)
        : new DomainError('validation_failed', `the arguments of ${tool.name} are invalid`, errors)
    }
    if (tool.mirrors.method !== 'GET') deps.assertWritable()
    const result = await tool.call(value, { caller: request.caller, signal: AbortSignal.any([extra.signal, request.signal]) })
    return { content: [{ type: 'text', text: tool.text(result) }], structuredContent: result }
  } catch (err) {
    if (err instanceof DomainError) return toolError(err)
    request.log.error({ err, tool: tool.name }, 'tool failed')
    return toolError(new DomainError('internal', 'the server failed to handle this call; the error is in its log'))
  }
}

export function createMcpServer (deps: ServerDeps): Server {
  const { tools, workspaces, subscriptions } = deps
  const byName = new Map(tools.map((t) => [t.name, t]))
  const server = new Server(SERVER_INFO, { capabilities: CAPABILITIES, instructions: INSTRUCTIONS })
  const subscriber = subscriptions.subscriber((name) => {
    // A session whose client keeps no stream open misses it, as the transport decides; nothing to do here.
    server.sendResourceUpdated({ uri: workspaceUri(name) }).catch(() => {})
  })
  server.onclose = () => subscriptions.drop(subscriber)

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: t.input as unknown as { type: 'object' },
      outputSchema: t.output as unknown as { type: 'object' },
      annotations: { title: t.title, ...t.annotations }
    }))
  }))

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name)
    if (tool === undefined) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(request.params.name)}; tools/list names them`)
    return await callTool(tool, request.params.arguments, extra, deps)
  })

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{
      uriTemplate: WORKSPACE_URI_TEMPLATE,
      name: 'workspace',
      title: 'Workspace',
      description: 'A tracked workspace\'s record, as get_workspace answers it. Subscribe to be told when it changes.',
      mimeType: 'application/json'
    }]
  }))

  server.setRequestHandler(ListResourcesRequestSchema, (request, extra) => {
    try {
      const page = JSON.parse(workspaces.page({}, RESOURCE_PAGE, request.params?.cursor)) as { items: Workspace[], next_cursor: string | null }
      return {
        resources: page.items.map((w) => ({ uri: workspaceUri(w.name), name: w.name, description: `${w.status}, ${w.agent}, run ${w.runs}`, mimeType: 'application/json' })),
        ...(page.next_cursor === null ? {} : { nextCursor: page.next_cursor })
      }
    } catch (err) {
      throw resourceError(err, extra)
    }
  })

  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) => {
    try {
      const tracked = workspaceOf(workspaces, workspaceOfUri(request.params.uri))
      return { contents: [{ uri: request.params.uri, mimeType: 'application/json', text: tracked.json }] }
    } catch (err) {
      throw resourceError(err, extra)
    }
  })

  server.setRequestHandler(SubscribeRequestSchema, (request, extra) => {
    try {
      subscriptions.add(subscriber, workspaceOfUri(request.params.uri).name)
      return {}
    } catch (err) {
      throw resourceError(err, extra)
    }
  })

  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscriptions.remove(subscriber, workspaceOfUri(request.params.uri).name)
    return {}
  })

  return server
}
