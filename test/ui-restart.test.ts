/** The dashboard in a real browser: it reconnects by itself after the service restarts, misses nothing, and stays quiet meanwhile. */
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
  await page.locator('.count[data-status="total"]', { hasText: /^7$/ }).waitFor()
  t.pass('after the restart the overview reads the new state')
})

t.test('an outage is quiet: one line when the service goes, one when it is back, and tries that back off', async (t) => {
  const env = { DATA_DIR: t.testdir(), PORT: String(await freePort()) }
  let s = await startService(t, env)
  await seed(s)
  const context = await launch(t)
  const page = await context.newPage()
  await page.goto(`${s.url}/ui`)
  await page.locator('.link-state[data-state="live"]').waitFor()
  await page.locator('tr[data-pool="codex"]').waitFor()
  const lines: Array<{ type: string, text: string }> = []
  const asked: string[] = []
  // Every request that failed (the open stream, reads in flight at the kill, tries), and when each try found
  // nothing listening.
  const failures: string[] = []
  const refused: number[] = []
  page.on('console', (m) => lines.push({ type: m.type(), text: m.text() }))
  page.on('request', (r) => asked.push(new URL(r.url()).pathname))
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? ''
    failures.push(`${new URL(r.url()).pathname} ${why}`)
    if (/REFUSED/.test(why)) refused.push(Date.now())
  })

  await s.kill('SIGKILL')
  const lost = Date.now()
  await page.locator('.link-state[data-state="down"]').waitFor()
  // Three failed tries. The browser logs each failed request itself, whatever the page does, so what the page
  // controls is how often it tries: after 1 s, 2 s, 4 s…, not every second. (Only a lower bound on time is
  // asserted: a loaded machine can only make the tries later.)
  while (refused.length < 3) await page.waitForEvent('requestfailed', { timeout: 60_000 })
  const third = (refused[2] ?? 0) - lost
  t.ok(third >= 6000, `the third try failed ${third} ms after the drop: the tries back off`)
  t.ok(asked.every((path) => path === '/v1/events'), `nothing but the event stream is asked while the service is away (${[...new Set(asked)].join(', ')})`)
  const own = lines.filter((l) => l.type !== 'error')
  t.equal(own.length, 1, 'the page logs one line of its own when it loses the service')
  t.match(own[0], { type: 'warning', text: /cannot reach the service/ })
  const browsers = lines.filter((l) => l.type === 'error')
  t.ok(browsers.every((l) => l.text.startsWith('Failed to load resource')) && browsers.length <= failures.length,
    `the other lines are the browser's, at most one per failed request: ${JSON.stringify(browsers.map((l) => l.text))} for ${JSON.stringify(failures)}`)
  t.match(await page.locator('.link-state-box').innerText(), /next try in \d+ s/, 'the header says when the next try is')

  s = await startService(t, env)
  // Someone looking does not wait out the back-off.
  await page.getByRole('button', { name: 'retry now' }).click()
  await page.locator('.link-state[data-state="live"]').waitFor()
  await page.locator('.count[data-status="total"]', { hasText: /^6$/ }).waitFor()
  const back = lines.filter((l) => l.type !== 'error').slice(1)
  t.equal(back.length, 1, 'and one when it has it back')
  t.match(back[0], { type: 'info', text: /the service is back after \d+ s/ })
})
