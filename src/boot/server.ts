/** Process entry: configuration, the app, signals, listen. The only place that exits the process. */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { checkDataDir, checkExposure, ConfigError, loadConfig } from './config.js'
import { RestoreError, restoreBackup } from '../store/history/restore.js'
import { StoreLockedError } from '../store/core/database.js'

async function main (): Promise<void> {
  const config = loadConfig()
  checkExposure(config)
  checkDataDir(config)
  const restored = config.restoreFrom === undefined ? null : await restoreBackup(config.dataDir, config.restoreFrom)
  const app = await buildApp(config)
  if (restored !== null) app.log.warn({ from: restored }, 'store restored from a backup (RESTORE_FROM)')

  closeWithGrace({ delay: config.closeGraceMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing: finishing requests, flushing and checkpointing the store')
    await app.close()
  })

  if (config.tokens.size === 0) app.log.warn('AUTH_TOKENS is empty: every route is open to whoever can reach this address')
  // Fastify's own listen line is the first after start-up, so it carries where the data is and the store mode.
  await app.listen({
    host: config.host,
    port: config.port,
    listenTextResolver: (address) => `agent-state listening on ${address}; data in ${config.dataDir}; store ${app.state.handle.mode}`
  })
}

main().catch((err: unknown) => {
  // Configuration mistakes and a locked store get one clear line; anything else its stack.
  const message = err instanceof ConfigError || err instanceof StoreLockedError || err instanceof RestoreError ? err.message : (err as Error).stack ?? String(err)
  process.stderr.write(`agent-state: ${message}\n`)
  process.exit(1)
})
