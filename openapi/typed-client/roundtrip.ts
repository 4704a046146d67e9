// A small client typed only by what openapi-typescript generates from openapi.json (as ./api.js). The test
// that runs it compiles it strictly against those types, then runs it against a real service: the
// document must give a generator exact types, and those types must describe what the service sends.
import type { components, paths } from './api.js'

type Workspace = components['schemas']['Workspace']
type Report = components['schemas']['WorkspaceReport']
type Problem = components['schemas']['Problem']
type WorkspacePage = paths['/v1/workspaces']['get']['responses'][200]['content']['application/json']
type WorkspaceAsText = paths['/v1/workspaces']['get']['responses'][200]['content']['text/plain']
type ClaimBody = paths['/v1/queue/claim']['post']['requestBody']
type ReportHeaders = paths['/v1/workspaces/{org}/{repo}/{leaf}']['put']['responses'][201]['headers']

// A claim may be sent with no body at all.
export const bareClaim: ClaimBody = undefined
// The JSON answer of a list is a page, never a union with the text table (that is the other media type).
const firstName = (page: WorkspacePage): string | undefined => page.items[0]?.name
export const text: WorkspaceAsText = 'NAME  STATUS'
// Declared response headers are typed.
export const headerNames: Array<keyof ReportHeaders> = ['ETag', 'X-Store', 'X-Request-Id']
// @ts-expect-error a status outside the enum does not type-check
export const wrong: Report = { status: 'sleeping', agent: 'codex', runs: 1 }

async function main (base: string, token: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const report: Report = { status: 'running', agent: 'codex:gpt-5.4', runs: 1, task: 'typed round trip', host: 'elsewhere' }
  const put = await fetch(`${base}/v1/workspaces/core/typed/one`, { method: 'PUT', headers, body: JSON.stringify(report) })
  const stored = await put.json() as Workspace
  const page = await (await fetch(`${base}/v1/workspaces?org=core`, { headers })).json() as WorkspacePage
  const missing = await (await fetch(`${base}/v1/workspaces/core/typed/none`, { headers })).json() as Problem
  const claim = await fetch(`${base}/v1/queue/claim`, { method: 'POST', headers: { authorization: headers.authorization } })
  console.log(JSON.stringify({
    status: put.status,
    pool: stored.pool,
    first: firstName(page),
    name: stored.name,
    etag: put.headers.get('etag') !== null,
    store: put.headers.get('x-store'),
    problem: missing.code,
    claim: claim.status
  }))
}

await main(process.argv[2] ?? '', process.argv[3] ?? '')
