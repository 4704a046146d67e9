/**
 * A real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core, which downloads no browser)
 * with a fresh profile in the test's temp folder, plus the service as a child process to point it at.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

/** Launches Chromium on a fresh user-data-dir, with `args` beside the usual flags; closed at teardown. A missing browser fails the test: CI installs it. */
export async function launch (t: Test, viewport = { width: 1280, height: 860 }, args: string[] = []): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)
  // Not inside t.testdir(): tap may remove that before this teardown has stopped the browser writing to it.
  const profile = mkdtempSync(join(tmpdir(), 'agent-state-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...args],
    viewport
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return context
}

/**
 * Opens a page that records what a test must see never happen: a request to anywhere but `origin`, an uncaught
 * error, or an error in the console (a CSP violation, a failed request: the browser logs those itself).
 */
export function watchedPage (page: Page, origin: string): { page: Page, foreign: string[], errors: string[] } {
  const foreign: string[] = []
  const errors: string[] = []
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) foreign.push(r.url()) })
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  return { page, foreign, errors }
}

/** A loopback port nothing listens on now, so a restarted service can come back on the same address. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
