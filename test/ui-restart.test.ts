/** The dashboard in a real browser: it reconnects by itself after the service restarts and misses nothing. */
import t from 'tap'
import { freePort, launch } from './browser.js'
import { startService } from './child.js'
import { call, report, seed } from './ui-fleet.js'

// A browser, a service and its seeding take tens of seconds on a busy 2-core machine: more than the default per file.
t.setTimeout(300_000)

t.test('the page reconnects after the service restarts and misses nothing', async (t) => {
  const dataDir = t.testdir()
  const env = { DATA_DIR: dataDir, PORT: String(await freePort()) }
  let s = await startService(t, env)
  await seed(s)
  const context = await launch(t)
  const page = await context.newPage()
  await page.goto(`${s.url}/ui#/events`)
  await page.locator('.link-state[data-state="live"]').waitFor()
  await page.locator('tr[data-type="backoff"]').waitFor()

  await s.kill('SIGKILL')
  await page.locator('.link-state[data-state="down"]').waitFor()
  s = await startService(t, env)
  // Written before the page can have reconnected: it must come from the replay after Last-Event-ID.
  await call(s, 'PUT', '/v1/workspaces/core/go-io/after-restart', report('running', 'codex:gpt-5.4'))
  await page.locator('.link-state[data-state="live"]').waitFor({ timeout: 15_000 })
  await page.locator('tr[data-type="workspace"]', { hasText: 'core/go-io/after-restart' }).waitFor({ timeout: 5000 })
  await call(s, 'PUT', '/v1/workspaces/core/go-io/after-restart', report('completed', 'codex:gpt-5.4'))
  await page.locator('tr[data-type="workspace"]').first().filter({ hasText: 'completed' }).waitFor({ timeout: 5000 })
  const ids = await page.locator('tr[data-type]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))
  t.equal(new Set(ids).size, ids.length, 'no event is shown twice')
  await page.goto(`${s.url}/ui#/`)
  await page.locator('.count[data-status="total"]', { hasText: /^6$/ }).waitFor()
  t.pass('after the restart the overview reads the new state')
})
