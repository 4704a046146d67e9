/**
 * The ten MCP tools (API §14) through the SDK's own client, over both transports: Streamable HTTP to the real
 * service, and stdio to the real `agent-state mcp` forwarding to it. Each tool's happy path answers what the
 * REST operation it mirrors answers; each refusal is a tool error with the problem's code, and changes nothing.
 */
import t from 'tap'
import { call, connect, mcpService, refusal, report, rest, VIAS } from './mcp.js'

const TOOLS = ['get_status', 'list_workspaces', 'get_workspace', 'report_workspace', 'heartbeat', 'claim_work', 'list_pools', 'list_queue', 'clear_backoff', 'run_stats']

for (const via of VIAS) {
  t.test(`over ${via}`, async (t) => {
    const svc = await mcpService(t)
    const [r, w, a] = [await connect(t, via, svc.url, 'r'), await connect(t, via, svc.url, 'w'), await connect(t, via, svc.url, 'a')]

    t.test('lists the ten tools, each described, with input and output schemas', async (t) => {
      const { tools } = await r.client.listTools()
      t.same(tools.map((x) => x.name), TOOLS)
      for (const tool of tools) {
        t.ok((tool.description ?? '').length > 80, `${tool.name} is described for a model`)
        t.equal(tool.inputSchema.type, 'object')
        t.equal(tool.outputSchema?.type, 'object', `${tool.name} has an output schema`)
      }
      if (via === 'stdio') {
        const direct = await connect(t, 'http', svc.url, 'r')
        t.same(tools, (await direct.client.listTools()).tools, 'the bridge lists exactly what the service does')
      }
    })

    t.test('report_workspace stores the report; REST reads it back; a read token changes nothing', async (t) => {
      const refused = await call(r, 'report_workspace', { workspace: 'core/r/one', ...report() })
      t.match(refusal(refused), /^403 forbidden: report_workspace needs the write scope; the token has read/)
      t.equal((await rest(svc.url, 'GET', '/v1/workspaces/core/r/one')).status, 404, 'nothing was stored')

      const done = await call(w, 'report_workspace', { workspace: 'core/r/one', ...report({ priority: 3 }) })
      t.notOk(done.isError)
      const back = await rest(svc.url, 'GET', '/v1/workspaces/core/r/one')
      t.equal(back.status, 200)
      t.same(done.structuredContent, back.body, 'structuredContent is the REST answer')
      t.match(back.body, { name: 'core/r/one', status: 'queued', priority: 3, pool: 'codex' })
      t.match((done.content[0] as { text: string }).text, /^NAME\s+STATUS.*\ncore\/r\/one\s+queued/, 'a text table')
    })

    t.test('report_workspace refuses a stale run, a bad name and a bad body, naming the field', async (t) => {
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/stale', 'w', report({ runs: 2 }))
      t.match(refusal(await call(w, 'report_workspace', { workspace: 'core/r/stale', ...report({ runs: 1 }) })), /^409 stale_run: /)
      t.match(refusal(await call(w, 'report_workspace', { workspace: 'core/r/..', ...report() })), /^400 invalid_name: .*\(workspace: must match pattern/)
      const bad = refusal(await call(w, 'report_workspace', { workspace: 'core/r/stale', ...report({ runs: 'three', colour: 'red' }) }))
      t.match(bad, /^400 validation_failed: the arguments of report_workspace are invalid/)
      t.match(bad, /runs: must be integer/)
      t.match(bad, /colour: unknown field/, 'every bad field is named')
      t.equal((await rest(svc.url, 'GET', '/v1/workspaces/core/r/stale')).body.runs, 2, 'the stored run is unchanged')
    })

    t.test('get_workspace answers the REST record; unknown and bad names are refused', async (t) => {
      const got = await call(r, 'get_workspace', { workspace: 'core/r/one' })
      t.same(got.structuredContent, (await rest(svc.url, 'GET', '/v1/workspaces/core/r/one')).body)
      t.match(refusal(await call(r, 'get_workspace', { workspace: 'core/r/none' })), /^404 not_found: workspace core\/r\/none not found/)
      t.match(refusal(await call(r, 'get_workspace', { workspace: 'core/r' })), /^400 invalid_name: .*workspace:/)
      t.match(refusal(await call(r, 'get_workspace', {})), /^400 validation_failed: .*\(workspace: must have required property/)
    })

    t.test('list_workspaces answers the REST page with the same filters and defaults; a bad filter is named', async (t) => {
      const page = await call(r, 'list_workspaces', { status: 'queued' })
      t.same(page.structuredContent, (await rest(svc.url, 'GET', '/v1/workspaces?status=queued')).body)
      t.same((page.structuredContent as { items: Array<{ name: string }> }).items.map((x) => x.name), ['core/r/one', 'core/r/stale'])
      const first = await call(r, 'list_workspaces', { limit: 1 })
      const next = (first.structuredContent as { next_cursor: string }).next_cursor
      t.same((await call(r, 'list_workspaces', { limit: 1, cursor: next })).structuredContent, (await rest(svc.url, 'GET', `/v1/workspaces?limit=1&cursor=${encodeURIComponent(next)}`)).body, 'cursors page alike')
      t.match(refusal(await call(r, 'list_workspaces', { status: 'sleeping' })), /^400 validation_failed: .*\(status: must be equal to one of the allowed values/)
      t.match(refusal(await call(r, 'list_workspaces', { limit: 0 })), /limit: must be >= 1/)
      t.match(refusal(await call(r, 'list_workspaces', { format: 'text' })), /format: unknown field/, 'REST\'s `format` is not a tool argument')
    })

    t.test('get_status answers the REST summary; an unknown argument is refused', async (t) => {
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/stuck', 'w', report({ status: 'blocked', question: 'which branch?' }))
      const status = await call(r, 'get_status')
      t.same(status.structuredContent, (await rest(svc.url, 'GET', '/v1/status')).body)
      t.match(status.structuredContent, { by_status: { blocked: 1 }, blocked: [{ name: 'core/r/stuck', question: 'which branch?' }] })
      t.match(refusal(await call(r, 'get_status', { verbose: true })), /^400 validation_failed: .*verbose: unknown field/)
    })

    t.test('claim_work takes the queued work once and makes it running; a read token claims nothing', async (t) => {
      t.match(refusal(await call(r, 'claim_work', {})), /^403 forbidden: claim_work needs the write scope/)
      t.equal((await rest(svc.url, 'GET', '/v1/queue')).body.items.length, 2, 'still queued')
      const claimed = await call(w, 'claim_work', { host: 'box-1' })
      t.match(claimed.structuredContent, { name: 'core/r/one', status: 'running', runs: 1, host: 'box-1' }, 'the higher priority first')
      t.same(claimed.structuredContent, (await rest(svc.url, 'GET', '/v1/workspaces/core/r/one')).body)
      t.match(refusal(await call(w, 'claim_work', { wait_s: 61 })), /^400 validation_failed: .*wait_s: must be <= 60/)
      t.match(refusal(await call(w, 'claim_work', { pid: 12 })), /pid: unknown field/)
    })

    t.test('two concurrent claims for one queued workspace: exactly one gets it', async (t) => {
      const w2 = await connect(t, via, svc.url, 'w')
      const [x, y] = await Promise.all([call(w, 'claim_work', { pool: 'codex' }), call(w2, 'claim_work', { pool: 'codex' })])
      const names = [x, y].map((c) => (c.structuredContent as { name?: string }).name)
      t.same(names.filter((n) => n !== undefined), ['core/r/stale'], 'one claim got it')
      t.equal(names.filter((n) => n === undefined).length, 1, 'the other got nothing')
      const empty = x.structuredContent?.name === undefined ? x : y
      t.same(empty.structuredContent, {}, 'nothing claimed is an empty object')
      t.match((empty.content[0] as { text: string }).text, /^nothing could be claimed/)
      t.match((await rest(svc.url, 'GET', '/v1/workspaces/core/r/stale')).body, { status: 'running', runs: 3 })
    })

    t.test('a waiting claim_work is answered when its pool\'s backoff runs out', async (t) => {
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/later', 'w', report({ agent: 'claude:opus' }))
      t.equal((await rest(svc.url, 'PUT', '/v1/pools/claude/backoff', 'a', { seconds: 1, reason: 'cooling down' })).status, 200)
      // Nothing is admissible until the backoff ends: the claim can only be answered by waiting.
      const claimed = await call(w, 'claim_work', { pool: 'claude', wait_s: 30 })
      t.match(claimed.structuredContent, { name: 'core/r/later', status: 'running', runs: 1 })
    })

    t.test('heartbeat renews a running workspace; one no longer running is told not_running', async (t) => {
      const beat = await call(w, 'heartbeat', { workspace: 'core/r/one', runs: 1 })
      t.match(beat.structuredContent, { name: 'core/r/one', status: 'running', runs: 1, heartbeat_at: String, lease_expires_at: String })
      t.equal((await rest(svc.url, 'GET', '/v1/workspaces/core/r/one')).body.heartbeat_at, (beat.structuredContent as { heartbeat_at: string }).heartbeat_at)
      t.match(refusal(await call(w, 'heartbeat', { workspace: 'core/r/one', runs: 0 })), /^409 stale_run: /)
      t.match(refusal(await call(w, 'heartbeat', { workspace: 'core/r/stuck' })), /^409 not_running: workspace core\/r\/stuck is blocked/)
      t.match(refusal(await call(w, 'heartbeat', { workspace: 'core/r/nobody' })), /^404 not_found/)
      t.match(refusal(await call(r, 'heartbeat', { workspace: 'core/r/one' })), /^403 forbidden/)
    })

    t.test('list_pools and list_queue answer the REST lists', async (t) => {
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/q1', 'w', report())
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/q2', 'w', report({ priority: 9 }))
      t.same((await call(r, 'list_pools')).structuredContent, (await rest(svc.url, 'GET', '/v1/pools')).body)
      const queue = await call(r, 'list_queue', { limit: 1 })
      t.same(queue.structuredContent, (await rest(svc.url, 'GET', '/v1/queue?limit=1')).body)
      t.match(queue.structuredContent, { items: [{ workspace: { name: 'core/r/q2' }, admissible: true }], next_cursor: String })
      t.match(refusal(await call(r, 'list_queue', { cursor: 'not-a-cursor' })), /^400 invalid_cursor/)
      t.match(refusal(await call(r, 'list_pools', { pool: 'codex' })), /^400 validation_failed: .*pool: unknown field/)
    })

    t.test('clear_backoff needs an admin token; it clears the backoff as REST does', async (t) => {
      t.equal((await rest(svc.url, 'PUT', '/v1/pools/codex/backoff', 'a', { seconds: 600, reason: 'too many failures' })).status, 200)
      t.match(refusal(await call(w, 'clear_backoff', { pool: 'codex' })), /^403 forbidden: clear_backoff needs the admin scope; the token has write/)
      t.not((await rest(svc.url, 'GET', '/v1/pools/codex')).body.backoff_until, null, 'still backed off')
      t.match(refusal(await call(a, 'clear_backoff', { pool: '-bad' })), /^400 invalid_name: .*pool:/)
      const cleared = await call(a, 'clear_backoff', { pool: 'codex' })
      t.match(cleared.structuredContent, { pool: 'codex', backoff_until: null, fail_count: 0 })
      t.same(cleared.structuredContent, (await rest(svc.url, 'GET', '/v1/pools/codex')).body)
      const events = await rest(svc.url, 'GET', '/v1/events/log?type=backoff&subject=codex&limit=1', 'r')
      t.match(events.body.items, [{ data: { action: 'cleared', by: /^token:/ } }], 'recorded with the caller')
    })

    t.test('run_stats answers the REST statistics over the same range; an empty range is refused', async (t) => {
      await rest(svc.url, 'PUT', '/v1/workspaces/core/r/one', 'w', report({ status: 'completed', runs: 1 }))
      const range = { since: '2020-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }
      const stats = await call(r, 'run_stats', { ...range, by: 'pool' })
      t.same(stats.structuredContent, (await rest(svc.url, 'GET', `/v1/stats/runs?since=${range.since}&until=${range.until}&by=pool`)).body)
      t.match(stats.structuredContent, { by: 'pool', groups: [{ key: 'codex', count: 1, completed: 1 }] })
      t.match(refusal(await call(r, 'run_stats', { since: range.until, until: range.since })), /^400 invalid_range/)
      t.match(refusal(await call(r, 'run_stats', { by: 'colour' })), /by: must be equal to one of the allowed values/)
    })

    t.test('an unknown tool is a protocol error', async (t) => {
      await t.rejects(r.client.callTool({ name: 'drop_everything', arguments: {} }), /unknown tool "drop_everything"/)
    })
  })
}
