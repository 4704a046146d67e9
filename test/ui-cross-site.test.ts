/**
 * Open mode against a real browser (issue 21, case 7): a page of another origin fires the requests a
 * browser lets any page send without asking (bare and simple POSTs), and a name rebound to 127.0.0.1
 * reaches the service; neither changes or reads anything. The dashboard, same origin, still acts.
 */
import { createServer } from 'node:http'
import { hostname } from 'node:os'
import t from 'tap'
import { launch } from './browser.js'
import { startService } from './child.js'
import { deadPid } from './helper.js'
import { call, report } from './ui-fleet.js'

t.setTimeout(300_000)

t.test('a page of another site cannot drive an open service, a rebound name is refused, and the dashboard still acts', async (t) => {
  // No periodic pass during the test: only a request can reap the ghost.
  const s = await startService(t, { DATA_DIR: t.testdir(), REAPER_INTERVAL_S: '3600' })
  await call(s, 'PUT', '/v1/workspaces/core/x/ghost', report('running', 'codex:m', { pid: deadPid(), host: hostname() }))
  await call(s, 'PUT', '/v1/workspaces/core/x/waiting', report('queued', 'codex:m'))

  // The other site: any page on another origin, here a server of its own on loopback.
  const other = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>') })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => other.close(() => resolve())))
  const otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}/`

  const context = await launch(t, undefined, ['--host-resolver-rules=MAP rebind.test 127.0.0.1'])
  const page = await context.newPage()
  await page.goto(otherUrl)
  const reached = await page.evaluate(async (target: string) => {
    // What a browser sends anywhere without a preflight: no-cors POSTs, bare or with a form's content types.
    const send = async (path: string, init: RequestInit = {}) => fetch(target + path, { method: 'POST', mode: 'no-cors', ...init }).then(() => true, () => false)
    return [
      await send('/v1/reap'),
      await send('/v1/queue/claim'),
      await send('/v1/backups'),
      await send('/v1/buffers', { body: JSON.stringify({ name: 'from-elsewhere' }), headers: { 'content-type': 'text/plain' } }),
      await send('/v1/buffers', { body: 'name=from-elsewhere', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    ]
  }, s.url)
  t.same(reached, [true, true, true, true, true], 'every request reached the service')
  t.match(await call(s, 'GET', '/v1/workspaces/core/x/ghost'), { status: 'running' }, 'nothing was reaped')
  t.match(await call(s, 'GET', '/v1/workspaces/core/x/waiting'), { status: 'queued' }, 'nothing was claimed')
  t.same(await call(s, 'GET', '/v1/backups'), { items: [], next_cursor: null }, 'no backup was taken')
  t.match(await call(s, 'GET', '/v1/buffers'), { items: [] }, 'no buffer was opened')

  // DNS rebinding: the browser reaches 127.0.0.1 under the other site's name, so the page would be same-origin.
  const port = new URL(s.url).port
  for (const path of ['/v1/workspaces', '/ui']) {
    const rebound = await page.goto(`http://rebind.test:${port}${path}`)
    t.equal(rebound?.status(), 403, `${path} under a rebound name is refused`)
    t.match(await rebound?.text(), /host_refused/)
  }

  // The dashboard is the service's own origin: its actions, bodyless ones too, still work.
  await page.goto(`${s.url}/ui`)
  await page.getByRole('button', { name: 'Reap now' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click()
  await page.locator('.toast').waitFor()
  t.match((await page.locator('.toast').innerText()).replace(/\s+/g, ' '), /POST \/v1\/reap → HTTP 200/)
  t.match(await call(s, 'GET', '/v1/workspaces/core/x/ghost'), { status: 'failed', reaped: { reason: 'pid_dead' } }, 'the dashboard\'s reap did reap')
})
