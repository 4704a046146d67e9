/**
 * What a client can hold before any route runs: how long its request may take to arrive, and how many
 * connections may be open at once. Both are bounds on file descriptors, which DuckDB must never run
 * out of (store/core/descriptors.ts).
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { clientErrorHandler } from './client-errors.js'
import { descriptorLimit, descriptorsOpen, fileReserve } from '../../store/core/descriptors.js'

/**
 * Node looks for requests past their timeout only every `connectionsCheckingInterval`, 30 s by default,
 * so a 30 s timeout cut a slow sender after 30 to 60 s, and an idle connection's headers after up to 90 s.
 * Checking every second makes the timeout what it says; the check is a walk over the open connections.
 */
const CHECK_EVERY_MS = 1000

/** The Fastify options that bound receiving a request; spread into the app's options. */
export function requestBounds (config: Config) {
  const timeoutMs = config.requestTimeoutS * 1000
  return {
    // Headers and body together; it bounds receiving only, so event streams and long-poll claims are unaffected.
    requestTimeout: timeoutMs,
    http: { headersTimeout: timeoutMs, connectionsCheckingInterval: CHECK_EVERY_MS },
    clientErrorHandler
  }
}

export interface ConnectionCap {
  /** Connections open at once; Node closes any further one as it arrives. */
  connections: number
  /** Descriptors kept for files: buffers, exports, a backup and the store's headroom. */
  reserve: number
  /** What the reserve would be with every buffer of BUFFERS_MAX_OPEN open; more than `reserve` when the limit is low. */
  wanted: number
}

/**
 * Splits the descriptors left at start-up between connections and files: files get what every bound
 * reached at once needs (fileReserve), or half when the limit is too low for that (macOS shells default
 * to 256), and connections the rest. Buffers past the reserve then get 503 `descriptors_low`.
 */
export function connectionCap (limit: number, inUse: number, buffersOpen: number): ConnectionCap {
  const spare = Math.max(0, limit - inUse)
  const wanted = fileReserve(buffersOpen)
  const reserve = Math.min(wanted, Math.floor(spare / 2))
  return { connections: Math.max(1, spare - reserve), reserve, wanted }
}

async function connectionLimits (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  // Measured once start-up has opened the store and its files: what is open then stays open.
  app.addHook('onReady', async () => {
    const limit = descriptorLimit()
    const inUse = descriptorsOpen()
    if (limit === Infinity || inUse === undefined) return
    const cap = connectionCap(limit, inUse, config.limits.buffersOpen)
    app.server.maxConnections = cap.connections
    const fields = { limit, in_use: inUse, connections: cap.connections, kept_for_files: cap.reserve }
    if (cap.reserve < cap.wanted) {
      app.log.warn({ ...fields, wanted_for_files: cap.wanted, raise_to: inUse + 2 * cap.wanted },
        'the file descriptor limit (ulimit -n) is low: fewer buffers open than BUFFERS_MAX_OPEN before 503 descriptors_low')
    } else {
      app.log.info(fields, 'connections capped below the file descriptor limit')
    }
  })

  // Node closes a connection past the cap without a word; one line a minute says it happens.
  let dropped = 0
  let reported = 0
  app.server.on('drop', () => {
    dropped++
    if (Date.now() - reported < 60_000) return
    reported = Date.now()
    app.log.warn({ dropped, max_connections: app.server.maxConnections }, 'connections refused: the connection cap is reached')
  })
}

export default fp(connectionLimits, { name: 'connection-limits' })
