/** The fleet the dashboard tests look at, seeded over HTTP as agents and operators would, and small helpers around it. */
import { createServer } from 'node:http'
import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import type { Service } from './child.js'

export const ADMIN = 'admin-secret-0123456'
export const READER = 'reader-secret-012345'

/** One HTTP call to the service, as an agent or operator would make it; fails the test on a non-2xx. */
export async function call (s: Service, method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
  const res = await fetch(s.url + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text === '' ? null : JSON.parse(text)
}

export const report = (status: string, agent: string, extra: Record<string, unknown> = {}) => ({ status, agent, runs: 1, task: `a ${status} task`, ...extra })

/**
 * A fleet worth looking at: limits, workspaces in most states (with hosts, a note, a blocked question and a failure's
 * reason), a backoff, two QA cycles and (with an upstream) a dead letter.
 */
export async function seed (s: Service, token?: string): Promise<void> {
  await call(s, 'PUT', '/v1/config', { concurrency: { codex: 3, claude: { total: 2, opus: 1 } }, rates: { claude: { daily_limit: 50 } } }, token)
  await call(s, 'PUT', '/v1/workspaces/core/go-io/task-1', report('running', 'codex:gpt-5.4', { host: 'build-01' }), token)
  await call(s, 'PUT', '/v1/workspaces/core/go-io/task-2', report('running', 'codex:gpt-5.4'), token)
  await call(s, 'PUT', '/v1/workspaces/core/api/task-9', report('running', 'claude:opus', { host: 'build-02' }), token)
  await call(s, 'PUT', '/v1/workspaces/core/api/task-9', report('blocked', 'claude:opus', { host: 'build-02', question: 'which staging DB?' }), token)
  await call(s, 'PUT', '/v1/workspaces/core/web/task-4', report('running', 'claude:sonnet'), token)
  await call(s, 'PUT', '/v1/workspaces/core/web/task-4', report('completed', 'claude:sonnet', { note: 'PR #12 opened' }), token)
  await call(s, 'PUT', '/v1/workspaces/core/go-io/task-5', report('running', 'codex:gpt-5.4', { host: 'build-01' }), token)
  await call(s, 'PUT', '/v1/workspaces/core/go-io/task-5', report('failed', 'codex:gpt-5.4', { host: 'build-01', question: 'go test ./... fails on arm64' }), token)
  await call(s, 'PUT', '/v1/workspaces/core/web/task-3', report('queued', 'codex:gpt-5.4', { priority: 2 }), token)
  await call(s, 'PUT', '/v1/pools/codex/backoff', { seconds: 1800, reason: 'provider answered 529 three times' }, token)
  const cycle = async (findings: Array<Record<string, unknown>>) => {
    await call(s, 'POST', '/v1/buffers', { name: 'qa-core-go-io-task-1', workspace: 'core/go-io/task-1' }, token)
    await call(s, 'POST', '/v1/buffers/qa-core-go-io-task-1/entries', [...findings.map((data) => ({ kind: 'finding', data })), { kind: 'build', data: { passed: true } }], token)
    await call(s, 'POST', '/v1/buffers/qa-core-go-io-task-1/commit', undefined, token)
  }
  await cycle([{ tool: 'gosec', file: 'main.go', line: 42, code: 'G101' }, { tool: 'vet', file: 'io.go', line: 7, code: 'printf' }])
  await cycle([{ tool: 'gosec', file: 'main.go', line: 42, code: 'G101' }, { tool: 'staticcheck', file: 'io.go', line: 9, code: 'SA4006' }])
}

/** An upstream that refuses every delivery (422), so an outbox item becomes a dead letter at once. */
export async function refusingUpstream (t: Test): Promise<string> {
  const server = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"unknown agent"}')) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/dispatches`
}

export const text = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim()
