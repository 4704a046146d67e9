/**
 * Bounds on what a token holder can create (API §9): each is configurable, and reaching one is a clear
 * 413 or 429, never an exhausted heap, file-descriptor table or a store too large to open again.
 */
export interface Limits {
  /** Open QA buffers at once: each is a DuckDB instance with its own files and a few MB of memory. */
  buffersOpen: number
  /** Entries in one buffer. */
  bufferEntries: number
  /** Bytes of entry data in one buffer: its commit becomes one journal row, read whole at start-up. */
  bufferBytes: number
  /** Journal rows kept, by total bytes: the oldest cycles are dropped past it. */
  journalBytes: number
  /** Items in the sync outbox (queued and dead letters together). */
  syncItems: number
  /** Bytes of the outbox's items together. */
  syncBytes: number
}

export const UNLIMITED: Limits = {
  buffersOpen: Infinity,
  bufferEntries: Infinity,
  bufferBytes: Infinity,
  journalBytes: Infinity,
  syncItems: Infinity,
  syncBytes: Infinity
}
