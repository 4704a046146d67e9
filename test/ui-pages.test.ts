/** The dashboard in a real browser against the real service (a child process on a temp data folder): every page shows the seeded fleet. */
import { join } from 'node:path'
import t from 'tap'
import { launch, watchedPage } from './browser.js'
import { startService } from './child.js'
import { call, refusingUpstream, seed, text } from './ui-fleet.js'

// A browser, a service and its seeding take tens of seconds on a busy 2-core machine: more than the default per file.
t.setTimeout(300_000)

t.test('every page shows the seeded fleet, at laptop and phone widths, with nothing fetched from elsewhere', async (t) => {
  // The data folder and the screenshots in it are kept after the run (under .tap/fixtures/) for a person to look at.
  t.saveFixture = true
  const upstream = await refusingUpstream(t)
  const s = await startService(t, { DATA_DIR: t.testdir(), SYNC_URL: upstream })
  await seed(s)
  await call(s, 'POST', '/v1/sync/queue', { agent_id: 'charon', dispatches: [{ workspace: 'core/web/task-4', status: 'completed' }] })
  const shots = join(t.testdir(), 'shots')
  const context = await launch(t)
  const { page, foreign, errors } = watchedPage(await context.newPage(), s.url)
  const res = await page.goto(`${s.url}/ui`)
  t.match(res?.headers()['content-security-policy'], /script-src 'self'/, 'the page is served with its CSP')
  t.notMatch(res?.headers()['content-security-policy'], /unsafe-inline/)

  // Overview: pools with limits, models, budget, backoff and admission; counts; blocked; outbox; store; start-up.
  await page.locator('tr[data-pool="codex"]').waitFor()
  const codex = await text(page, 'tr[data-pool="codex"]')
  t.match(codex, /2 \/ 3/, 'codex: 2 running of 3')
  t.match(codex, /provider answered 529 three times/)
  t.match(codex, /\d+m \d\ds left|\dh \d\dm left/, 'a countdown to the end of the backoff')
  t.match(codex, /backoff/, 'not admissible, because of the backoff')
  const claude = await text(page, 'tr[data-pool="claude"]')
  t.match(claude, /0 \/ 2/)
  t.match(claude, /opus: 0 \/ 1/, 'per-model running against its limit')
  t.match(claude, /2 \/ 50/, 'two started today of a budget of 50')
  t.match(claude, /admissible/)
  t.equal(await text(page, '.count[data-status="total"]'), '5')
  t.equal(await text(page, '.count[data-status="running"]'), '2')
  t.equal(await text(page, '.count[data-status="blocked"]'), '1')
  t.match(await text(page, '.blocked'), /core\/api\/task-9.*which staging DB\?/)
  await page.getByText('Dead letters').first().waitFor()
  await page.locator('[data-fact="dead"]', { hasText: /^1$/ }).waitFor()
  t.match(await text(page, 'main'), /Store: ok/)
  t.match(await text(page, 'main'), /Hydrated/)
  await page.locator('.chart canvas').nth(1).waitFor()
  t.equal(await page.locator('.chart canvas').count(), 2, 'running per pool and finished per hour are drawn')
  t.ok(await page.getByRole('button', { name: 'Reap now' }).isVisible(), 'open mode: every action is offered')
  await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true })

  // Workspaces: the list, a filter, one workspace with its history.
  await page.goto(`${s.url}/ui#/workspaces`)
  await page.locator('tr[data-name="core/go-io/task-1"]').waitFor()
  t.equal(await page.locator('table.workspaces tbody tr').count(), 5)
  await page.getByLabel('Status').selectOption('blocked')
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.locator('table.workspaces tbody tr').nth(1).waitFor({ state: 'detached' })
  t.equal(await page.locator('table.workspaces tbody tr').getAttribute('data-name'), 'core/api/task-9')
  t.match(page.url(), /#\/workspaces\?status=blocked/, 'the filter is in the URL')
  await page.screenshot({ path: join(shots, 'workspaces.png'), fullPage: true })
  await page.getByRole('link', { name: 'core/api/task-9' }).click()
  await page.locator('table.history tbody tr').nth(1).waitFor()
  t.match(await text(page, 'dl.record'), /which staging DB\?/)
  t.same((await page.locator('table.history tbody tr td:nth-child(3)').allInnerTexts()).map((x) => x.trim()), ['blocked', 'running'], 'its history, newest first')
  await page.screenshot({ path: join(shots, 'workspace.png'), fullPage: true })

  // Queue in drain order with its reasons.
  await page.goto(`${s.url}/ui#/queue`)
  await page.locator('tr[data-name="core/web/task-3"]').waitFor()
  t.match(await text(page, 'tr[data-name="core/web/task-3"]'), /backoff/)
  await page.screenshot({ path: join(shots, 'queue.png'), fullPage: true })

  // Events: the tail, and the type filter.
  await page.goto(`${s.url}/ui#/events`)
  await page.locator('tr[data-type="backoff"]').waitFor()
  t.ok(await page.locator('tr[data-type="workspace"]').count() > 0)
  await page.getByLabel('workspace').uncheck()
  await page.locator('tr[data-type="workspace"]').first().waitFor({ state: 'detached' })
  t.ok(await page.locator('tr[data-type="backoff"]').count() > 0, 'the other types stay')
  await page.getByLabel('workspace').check()
  await page.locator('tr[data-type="workspace"]').first().waitFor()
  await page.screenshot({ path: join(shots, 'events.png'), fullPage: true })

  // Sync: the refused item is a dead letter with its error.
  await page.goto(`${s.url}/ui#/sync`)
  await page.locator('table.dead tbody tr').waitFor()
  t.match(await text(page, 'table.dead tbody tr'), /charon.*422/)
  await page.screenshot({ path: join(shots, 'sync.png'), fullPage: true })

  // Journal: the two cycles and the diff of the latest.
  await page.goto(`${s.url}/ui#/journal?workspace=core/go-io/task-1`)
  await page.locator('.findings-new li').waitFor()
  t.match(await text(page, '.findings-new'), /staticcheck.*SA4006/)
  t.match(await text(page, '.findings-resolved'), /vet.*printf/)
  t.match(await text(page, '.findings-persistent'), /gosec.*G101/)
  t.equal(await page.locator('table.journal tbody tr').count(), 2)
  await page.screenshot({ path: join(shots, 'journal.png'), fullPage: true })

  // A phone, freshly loaded at its width: nothing wider than the screen but the tables, which scroll in their own box.
  const phone = await context.newPage()
  await phone.setViewportSize({ width: 390, height: 844 })
  await phone.goto(`${s.url}/ui`)
  await phone.locator('.chart canvas').nth(1).waitFor()
  // Names whatever sticks out, so a failure says where to look.
  // (Strings, not functions: they run in the page, and the tests are type-checked without the DOM's types.)
  const wide = await phone.evaluate(`[...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && el.parentElement?.closest('.scroll') == null)
    .map((el) => el.tagName.toLowerCase() + '.' + el.className)`)
  t.same(wide, [], 'nothing but a table in its scroll box is wider than a 390 px screen')
  const [scroll, client] = await phone.evaluate<number[]>('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')
  t.ok(scroll !== undefined && client !== undefined && scroll <= client, `no sideways scrolling (${scroll} ≤ ${client})`)
  await phone.screenshot({ path: join(shots, 'overview-phone.png'), fullPage: true })

  t.same(foreign, [], 'nothing was requested from anywhere but the service')
  t.same(errors, [], 'no script error, no CSP violation')
})
