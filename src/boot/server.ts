/** Process entry: configuration, the app, signals, listen. The only place that exits the process. */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { checkDataDir, checkExposure, ConfigError, loadConfig } from './config.js'
import { RestoreError, restoreBackup } from '../store/history/restore.js'
import { StoreLockedError } from '../store/core/database.js'
import { assertPortFree, portInUse, PortInUseError } from './port-check.js'
import { closeOnStopSignals, STOP_SIGNALS } from './signals.js'

async function main (): Promise<void> {
  const config = loadConfig()
  checkExposure(config)
  checkDataDir(config)
  await assertPortFree(config.host, config.port)
  const restored = config.restoreFrom === undefined ? null : await restoreBackup(config.dataDir, config.restoreFrom)
  const app = await buildApp(config)
  if (restored !== null) app.log.warn({ from: restored }, 'store restored from a backup (RESTORE_FROM)')

  const grace = closeWithGrace({ delay: config.closeGraceMs, skip: [...STOP_SIGNALS] }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing: finishing requests, flushing and checkpointing the store')
    await app.close()
    app.log.info('closed: every write is stored and the store checkpointed')
  })
  closeOnStopSignals(grace.close, app.log)

  if (config.tokens.size === 0) app.log.warn('AUTH_TOKENS is empty: every route is open to whoever can reach this address')
  // Fastify's own listen line is the first after start-up, so it carries where the data is and the store mode.
  await app.listen({
    host: config.host,
    port: config.port,
    listenTextResolver: (address) => `agent-state listening on ${address}; data in ${config.dataDir}; store ${app.service.handle.mode}`
  }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err
    // Taken after the probe: close what start-up opened (the store's lock above all) before saying so.
    await app.close()
    throw portInUse(config.host, config.port)
  })
}

main().catch((err: unknown) => {
  // Configuration mistakes, a locked store, a bad backup name and a busy port get one clear line; anything else its stack.
  const known = err instanceof ConfigError || err instanceof StoreLockedError || err instanceof RestoreError || err instanceof PortInUseError
  process.stderr.write(`agent-state: ${known ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
