/**
 * The typed client for agent-state. Paths, parameters, bodies and answers come from `api-types.ts`, which is
 * generated from `openapi/openapi.json` (`npm run client:types`); `openapi-fetch` does the requests.
 *
 *   const api = createAgentStateClient({ url: 'http://127.0.0.1:3000', token })
 *   const { data, error } = await api.GET('/v1/workspaces/{org}/{repo}/{leaf}', { params: { path: { org, repo, leaf } } })
 */
import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from './api-types.js'

export type { components, operations, paths } from './api-types.js'

export type AgentStateClient = Client<paths>
/** The stored record of a workspace, as a read answers it. */
export type Workspace = paths['/v1/workspaces/{org}/{repo}/{leaf}']['get']['responses']['200']['content']['application/json']
/** A full status report (the body of `PUT /v1/workspaces/{org}/{repo}/{leaf}`). */
export type WorkspaceReport = paths['/v1/workspaces/{org}/{repo}/{leaf}']['put']['requestBody']['content']['application/json']
// `request_id` is optional here: a problem the client makes up for a non-problem answer (a proxy's 502) has none.
export type Problem = Omit<components['schemas']['Problem'], 'request_id'> & { request_id?: string }

export interface ClientOptions {
  /** Where the service listens, e.g. `http://127.0.0.1:3000`. */
  url: string
  /** A bearer token, when the service has `AUTH_TOKENS`. */
  token?: string
  /** Another fetch, e.g. with a proxy or a test double of the network (never of the service). */
  fetch?: (input: Request) => Promise<Response>
}

export function createAgentStateClient ({ url, token, fetch }: ClientOptions): AgentStateClient {
  return createClient<paths>({
    baseUrl: url.replace(/\/+$/, ''),
    headers: token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` },
    ...(fetch === undefined ? {} : { fetch })
  })
}

/** Is this a problem+json body (RFC 9457) as the service answers every error? */
export function isProblem (body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).code === 'string' && typeof (body as Problem).status === 'number'
}

/** A problem as one readable line: `409 stale_run: heartbeat for run 2, … (body.runs: must be …)`. */
export function problemLine (problem: Problem): string {
  const fields = problem.errors === undefined || problem.errors.length === 0
    ? ''
    : ` (${problem.errors.map((e) => `${e.field}: ${e.message}`).join('; ')})`
  return `${problem.status} ${problem.code}: ${problem.detail}${fields}`
}
