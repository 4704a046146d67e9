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
  const born = Date.now()
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
  t.equal(await text(page, '.count[data-status="total"]'), '6')
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

  // Activity: a service seconds old is drawn from its first event on, not squeezed into the edge of a day.
  const running = page.locator('figure.chart[data-kind="steps"]')
  const finished = page.locator('figure.chart[data-kind="bars"]')
  const range = async (chart: typeof running) => [Number(await chart.getAttribute('data-from')), Number(await chart.getAttribute('data-to'))] as const
  const [runFrom, runTo] = await range(running)
  const age = (Date.now() - born) / 1000
  t.ok(runTo - runFrom <= Math.max(age, 120) + 10, `running per pool spans ${runTo - runFrom} s: no more than the service's age (${Math.round(age)} s) or the 2-minute minimum`)
  t.ok(runFrom >= born / 1000 - 10, 'and starts where the service does')
  const [endFrom, endTo] = await range(finished)
  t.ok(endTo - endFrom <= 3 * 3600 && endFrom <= Date.now() / 1000 && Date.now() / 1000 <= endTo, `finished per hour spans the 3-hour minimum from the hour the service started (${(endTo - endFrom) / 3600} h)`)
  // Three runs ended this hour (completed, failed, blocked): a stacked bar, whose completed part alone is a block of
  // colour, where a line through a single hour would be a dot.
  const completedPixels = await page.evaluate<number>(`(() => {
    const canvas = document.querySelector('figure.chart[data-kind="bars"] canvas')
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
    let n = 0
    for (let i = 0; i < data.length; i += 4) if (data[i] === 0x3b && data[i + 1] === 0xb2 && data[i + 2] === 0x73) n++
    return n
  })()`)
  t.ok(completedPixels > 500, `the hour's completed runs are drawn as a bar (${completedPixels} px of their colour)`)
  await page.getByRole('region', { name: 'Activity' }).screenshot({ path: join(shots, 'charts.png') })
  await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true })

  // Workspaces: the list says why each is where it is, on which host and for how long; a filter; one workspace.
  await page.goto(`${s.url}/ui#/workspaces`)
  await page.locator('tr[data-name="core/go-io/task-1"]').waitFor()
  t.equal(await page.locator('table.workspaces tbody tr').count(), 6)
  const row = async (name: string) => await text(page, `tr[data-name="${name}"]`)
  t.match(await row('core/api/task-9'), /question which staging DB\?/i, 'a blocked one: its question')
  t.match(await row('core/go-io/task-5'), /reason go test \.\/\.\.\. fails on arm64/i, 'a failed one: its reason')
  t.match(await row('core/web/task-4'), /note PR #12 opened/i, 'a note')
  t.match(await row('core/go-io/task-1'), /running for (\d+m )?\d+s/, 'a running one: for how long so far')
  t.match(await row('core/go-io/task-1'), /build-01/, 'its host')
  t.match(await row('core/go-io/task-2'), /local/, 'no host reported: the service\'s own')
  t.match(await row('core/go-io/task-5'), /failed ran (\d+m )?\d+s/, 'a finished one: how long its run took')
  t.match(await row('core/web/task-3'), /queued for (\d+m )?\d+s/, 'a queued one: for how long it has waited')
  await page.screenshot({ path: join(shots, 'workspaces.png'), fullPage: true })
  await page.getByLabel('Status').selectOption('blocked')
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.locator('table.workspaces tbody tr').nth(1).waitFor({ state: 'detached' })
  t.equal(await page.locator('table.workspaces tbody tr').getAttribute('data-name'), 'core/api/task-9')
  t.match(page.url(), /#\/workspaces\?status=blocked/, 'the filter is in the URL')
  await page.screenshot({ path: join(shots, 'workspaces-blocked.png'), fullPage: true })
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

  // The workspace list at phone width: fits the screen, so why, host and duration are read without scrolling sideways.
  await phone.goto(`${s.url}/ui#/workspaces`)
  await phone.locator('tr[data-name="core/go-io/task-5"]').waitFor()
  const [listScroll, listClient] = await phone.evaluate<number[]>(`(() => {
    const box = document.querySelector('table.workspaces').closest('.scroll')
    return [box.scrollWidth, box.clientWidth]
  })()`)
  t.ok(listScroll !== undefined && listClient !== undefined && listScroll <= listClient, `the list fits a 390 px screen (${listScroll} ≤ ${listClient})`)
  t.ok(await phone.getByText('go test ./... fails on arm64').isVisible(), 'the reason shows')
  await phone.screenshot({ path: join(shots, 'workspaces-phone.png'), fullPage: true })

  t.same(foreign, [], 'nothing was requested from anywhere but the service')
  t.same(errors, [], 'no script error, no CSP violation, no error in the console')
})
