/** The typed client: its types are what openapi-typescript makes of the committed document, and it works from JavaScript. */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { build } from './helper.js'

const run = promisify(execFile)

t.test('src/client/api-types.ts is generated from openapi/openapi.json (npm run client:types)', async (t) => {
  const out = join(t.testdir(), 'api-types.ts')
  await run(process.execPath, ['node_modules/openapi-typescript/bin/cli.js', 'openapi/openapi.json', '--output', out])
  t.equal(readFileSync('src/client/api-types.ts', 'utf8'), readFileSync(out, 'utf8'), 'regenerate with `npm run client:types` (npm run openapi does)')
})

t.test('a JavaScript user imports the package and gets typed answers and problem lines', async (t) => {
  const { app } = await build(t)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const script = `
    import { createAgentStateClient, problemLine } from 'agent-state'
    const api = createAgentStateClient({ url: process.argv[1] })
    const path = { params: { path: { org: 'core', repo: 'r', leaf: 'a' } } }
    const put = await api.PUT('/v1/workspaces/{org}/{repo}/{leaf}', { ...path, body: { status: 'running', agent: 'codex:gpt-5.4', runs: 1 } })
    const stale = await api.PUT('/v1/workspaces/{org}/{repo}/{leaf}', { ...path, body: { status: 'running', agent: 'codex:gpt-5.4', runs: 0 } })
    console.log(JSON.stringify({ status: put.response.status, name: put.data.name, problem: problemLine(stale.error) }))`
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, url])
  t.match(JSON.parse(stdout), { status: 201, name: 'core/r/a', problem: /^409 stale_run: / })
})
