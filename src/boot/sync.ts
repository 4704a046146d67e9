/** The `sync` decorator: the outbox (loaded by startup.ts) and, when SYNC_URL is set, its flusher, stopped on close. */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { SyncFlusher } from '../store/sync/sync-flusher.js'
import { SyncQueue } from '../store/sync/sync-queue.js'

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
  const { writer, events, clock } = app.state
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

  // onClose hooks run last-registered first, so the flusher stops before the store drains and closes.
  app.addHook('onClose', async () => {
    await flusher?.stop()
  })
}

export default fp(sync, { name: 'sync', dependencies: ['store'] })
