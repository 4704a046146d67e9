/** The `sync` decorator: the outbox, hydrated on ready, and, when SYNC_URL is set, its flusher, stopped on close. */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { readGroups } from '../store/workspaces/hydrate.js'
import { SyncFlusher } from '../store/sync/sync-flusher.js'
import { SYNC_GROUPS, SyncQueue } from '../store/sync/sync-queue.js'

declare module 'fastify' {
  interface FastifyInstance {
    sync: {
      queue: SyncQueue
      /** null without SYNC_URL: items then wait. */
      flusher: SyncFlusher | null
    }
  }
}

export interface SyncOptions {
  config: Config
  /** The backoff's first delay in ms (default 1000); tests shrink it so retries do not take seconds. */
  backoffBaseMs?: number
}

async function sync (app: FastifyInstance, { config, backoffBaseMs = 1000 }: SyncOptions): Promise<void> {
  const { db, writer, events, clock, recovery } = app.state
  const queue = new SyncQueue({ writer, events, clock })
  const flusher = config.syncUrl === undefined
    ? null
    : new SyncFlusher({
      url: config.syncUrl,
      token: config.syncToken,
      maxAttempts: config.syncMaxAttempts,
      timeoutMs: config.syncTimeoutMs,
      backoffBaseMs,
      queue,
      clock,
      log: app.log
    })
  app.decorate('sync', { queue, flusher })

  app.addHook('onReady', async () => {
    if (db !== null) {
      const counts = await recovery.step('hydrate_sync', async () => queue.load(await readGroups(db, SYNC_GROUPS)))
      app.log.info({ sync: counts, upstream: flusher !== null }, 'sync queue hydrated')
    }
    // Stores the deletion of remembered idempotency keys that expired while the service was down.
    await writer.commit()
    flusher?.start()
  })

  // onClose hooks run last-registered first, so the flusher stops before the store drains and closes.
  app.addHook('onClose', async () => {
    await flusher?.stop()
  })
}

export default fp(sync, { name: 'sync', dependencies: ['store', 'lifecycle'] })
