/** What the store side needs of the configuration; boot/config.ts reads it from the environment and checks it. */
import type { Limits } from '../core/limits.js'
import type { ReaperOptions } from '../reaper/reaper.js'

export interface ServiceSettings {
  /** Absolute path of the volume: the store lives in `.core/`, workspace folders in `workspace/`. */
  dataDir: string
  dbThreads: number
  dbMemoryLimit: string
  /** DuckDB's memory_limit for the analytics instance (exports, backup checks), apart from the store's. */
  analyticsMemoryLimit: string
  /** Bytes that stay free on the volume for the store: backups and exports are refused or stopped before they take them. */
  diskReserveBytes: number
  leaseS: number
  /** The period of the periodic pass: reaper, expired backoffs, event and run-history retention. */
  reaperIntervalS: number
  /** Which PIDs the reaper may check: see ReaperOptions.pidCheck. */
  reaperPidCheck: ReaperOptions['pidCheck']
  syncUrl: string | undefined
  syncToken: string | undefined
  syncMaxAttempts: number
  /** Bound on one delivery to SYNC_URL (connect, send, answer); a timeout counts as a failed attempt. */
  syncTimeoutMs: number
  /** A segment of the change log rolls once it holds this many bytes. */
  logSegmentBytes: number
  /** How often a degraded service tries the store again. */
  storeRetryS: number
  /** How many of the newest events the store keeps for `Last-Event-ID` replay; the periodic pass deletes older ones. */
  eventRetention: number
  /** Seconds between keep-alives to event-stream followers. */
  sseKeepaliveS: number
  /** Events a stream client may fall behind by before it is disconnected (it reconnects with Last-Event-ID). */
  sseQueueMax: number
  /** Event-stream followers at once; one more is 429 `limit_reached`. */
  eventStreamsMax: number
  /** Bytes of items one list page holds at most (at least one item): past it the page ends with a cursor. */
  pageMaxBytes: number
  /** Bounds on what clients can create. */
  limits: Limits
  /** Claims that may wait (`wait_s`) at once; one more is 503 `too_many_waiters`. */
  claimWaitersMax: number
  /** Days of run history kept; 0 records none. */
  historyRetentionDays: number
  /** Run history rows kept at most; the periodic pass deletes the oldest beyond. */
  historyMaxRows: number
  /** Backups kept in `backups/`; a new one beyond that removes the oldest. */
  backupKeep: number
  /** Unreadable buffer files kept in `.core/state/quarantine/`; older ones are removed at start-up. */
  quarantineKeep: number
}
