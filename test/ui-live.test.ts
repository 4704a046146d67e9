/** The dashboard in a real browser: a change made over HTTP reaches the open page within a second. */
import t from 'tap'
import { launch } from './browser.js'
import { startService } from './child.js'
import { call, report, seed, text } from './ui-fleet.js'

// A browser, a service and its seeding take tens of seconds on a busy 2-core machine: more than the default per file.
t.setTimeout(300_000)

t.test('a PUT made over HTTP shows on the open page within a second, without a reload', async (t) => {
  const s = await startService(t, { DATA_DIR: t.testdir() })
  await seed(s)
  const context = await launch(t)
  const page = await context.newPage()
  await page.goto(`${s.url}/ui`)
  await page.locator('.link-state[data-state="live"]').waitFor()
  t.equal(await text(page, '.count[data-status="running"]'), '2')
  await page.evaluate('window.marker = true')

  await call(s, 'PUT', '/v1/workspaces/core/go-io/task-7', report('running', 'codex:gpt-5.4'))
  await page.locator('.count[data-status="running"]', { hasText: /^3$/ }).waitFor({ timeout: 1000 })
  t.match(await text(page, 'tr[data-pool="codex"]'), /3 \/ 3/, 'the pool row follows too')
  t.equal(await page.evaluate('window.marker'), true, 'the same page: no reload')

  await call(s, 'DELETE', '/v1/pools/codex/backoff')
  await page.locator('tr[data-pool="codex"]', { hasNotText: 'left' }).waitFor({ timeout: 1000 })
  t.pass('a cleared backoff leaves the page within a second')
})
