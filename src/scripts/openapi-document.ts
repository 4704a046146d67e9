/** Builds the app on a throw-away data folder and returns its OpenAPI document: one source for the committed file and its drift test. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../boot/app.js'
import { loadConfig } from '../boot/config.js'

export async function openApiDocument (): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-state-openapi-'))
  // Tokens are set so the document describes the secured service; defaults otherwise, so the output is deterministic.
  const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', AUTH_TOKENS: 'openapi-document-only:read' }))
  try {
    await app.ready()
    return app.swagger()
  } finally {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
