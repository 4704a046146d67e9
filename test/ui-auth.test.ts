/** The dashboard in a real browser: what a read token and an admin token may do. */
import t from 'tap'
import { launch } from './browser.js'
import { startService } from './child.js'
import { ADMIN, READER, call, seed, text } from './ui-fleet.js'

// A browser, a service and its seeding take tens of seconds on a busy 2-core machine: more than the default per file.
t.setTimeout(300_000)

t.test('a read token sees no action; an admin token clears a backoff, which the API confirms', async (t) => {
  const s = await startService(t, { DATA_DIR: t.testdir(), AUTH_TOKENS: `${READER}:read,${ADMIN}:admin` })
  await seed(s, ADMIN)
  const context = await launch(t)

  const reader = await context.newPage()
  const logged: string[] = []
  const asked: string[] = []
  reader.on('console', (m) => { if (m.type() === 'error') logged.push(m.text()) })
  reader.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/v1/')) asked.push(r.url()) })
  await reader.goto(`${s.url}/ui`)
  await reader.getByLabel('Bearer token').waitFor()
  t.same(asked, [], 'the page asks for a token without first asking the service, which could only answer 401')
  t.same(logged, [], 'so a first load logs no error')
  await reader.getByLabel('Bearer token').fill('wrong-token')
  await reader.getByRole('button', { name: 'Open the dashboard' }).click()
  await reader.getByRole('alert').waitFor()
  t.match(await text(reader, '[role="alert"]'), /not recognised/, 'a wrong token is refused and asked again')
  await reader.getByLabel('Bearer token').fill(READER)
  await reader.getByRole('button', { name: 'Open the dashboard' }).click()
  await reader.locator('tr[data-pool="codex"]').waitFor()
  t.match(await text(reader, 'tr[data-pool="codex"]'), /provider answered 529/, 'a reader sees the backoff')
  t.equal(await text(reader, '.scope'), 'read token')
  await reader.goto(`${s.url}/ui#/sync`)
  await reader.goto(`${s.url}/ui#/`)
  await reader.locator('tr[data-pool="codex"]').waitFor()
  t.equal(await reader.locator('button.action').count(), 0, 'no action is offered to a read token')
  await reader.reload()
  await reader.locator('tr[data-pool="codex"]').waitFor()
  t.equal(await reader.getByLabel('Bearer token').count(), 0, 'the token is kept for the tab across a reload')
  t.equal(await reader.evaluate('localStorage.length'), 0, 'and never in localStorage')

  const admin = await context.newPage()
  await admin.goto(`${s.url}/ui`)
  await admin.getByLabel('Bearer token').fill(ADMIN)
  await admin.getByRole('button', { name: 'Open the dashboard' }).click()
  const row = admin.locator('tr[data-pool="codex"]')
  await row.getByRole('button', { name: 'Clear backoff' }).click()
  const dialog = admin.getByRole('dialog')
  t.match(await dialog.innerText(), /Clear the backoff of codex\?/, 'it asks first')
  await dialog.getByRole('button', { name: 'Cancel' }).click()
  t.match(await text(admin, 'tr[data-pool="codex"]'), /left/, 'cancel changes nothing')
  t.type((await call(s, 'GET', '/v1/pools/codex', undefined, ADMIN) as { backoff_until: unknown }).backoff_until, 'string')

  await row.getByRole('button', { name: 'Clear backoff' }).click()
  await dialog.getByRole('button', { name: 'Confirm' }).click()
  const toast = admin.locator('.toast')
  await toast.waitFor()
  t.match(await text(admin, '.toast'), /^The backoff of codex is cleared\./, 'a toast says what came of it')
  t.match(await text(admin, '.toast'), /DELETE \/v1\/pools\/codex\/backoff → HTTP 200/, 'and what was asked')
  t.equal(await toast.locator('pre').count(), 0, 'not the raw JSON of the answer')
  const pool = await call(s, 'GET', '/v1/pools/codex', undefined, ADMIN) as { backoff_until: unknown, admissible: boolean }
  t.equal(pool.backoff_until, null, 'the API confirms the backoff is gone')
  await admin.locator('tr[data-pool="codex"]', { hasNotText: 'left' }).waitFor()
  const events = await call(s, 'GET', '/v1/events/log?type=backoff&limit=1', undefined, ADMIN) as { items: Array<{ data: { action: string, by: string } }> }
  t.match(events.items[0]?.data, { action: 'cleared', by: /^token:/ }, 'recorded under the admin token\'s fingerprint')
  // The reader's open page learns of the change too, and still offers nothing.
  await reader.locator('tr[data-pool="codex"]', { hasNotText: 'left' }).waitFor()
  t.equal(await reader.locator('button.action').count(), 0)

  // The toast belongs to its page: it goes when the admin moves on.
  await admin.getByRole('link', { name: 'Sync' }).click()
  await toast.waitFor({ state: 'detached' })
  t.pass('the toast is gone on another page')

  // And it goes when dismissed, from the keyboard too.
  await admin.getByRole('link', { name: 'Overview' }).click()
  await row.getByRole('button', { name: 'Set backoff' }).click()
  await dialog.getByLabel('Reason').fill('deploy window')
  await dialog.getByRole('button', { name: 'Confirm' }).click()
  await toast.waitFor()
  t.match(await text(admin, '.toast'), /^codex takes no work until /)
  await toast.getByRole('button', { name: 'Dismiss' }).focus()
  await admin.keyboard.press('Enter')
  await toast.waitFor({ state: 'detached' })
  t.pass('dismissed')
})
