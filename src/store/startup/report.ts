/** The start-up report behind GET /v1/recovery: what came back from where, what was reaped or recovered, and how long each step took. */

export interface ReapedGhost {
  name: string
  reason: 'pid_dead' | 'pid_reused' | 'lease_expired'
  evidence: string
  at: string
}

export interface InvalidFile {
  path: string
  error: string
}

export interface OrphanOutcome {
  /** The file's name in `.core/state/`. */
  file: string
  /** `left_in_place`: locked by another process, or it could not be removed or moved; tried again at the next start-up. */
  outcome: 'discarded' | 'deleted_committed' | 'quarantined' | 'left_in_place'
  detail?: string
}

export interface RecoveryReport {
  started_at: string
  finished_at: string | null
  store: { mode: 'ok' | 'degraded', error?: string }
  /** `from_files`: records a status.json added or changed; `files_read`: valid files found. */
  hydrated: { from_store: number, from_queue: number, files_read: number, from_files: number, files_invalid: InvalidFile[] }
  /** Ghosts failed by the start-up pass (later passes are in the event log). */
  reaped: ReapedGhost[]
  orphans: { skipped: string | null, outcomes: OrphanOutcome[] }
  /** What start-up found wrong and worked around: a WAL DuckDB did not replay whole, a data folder's own folder that is a link. */
  warnings: string[]
  /** Milliseconds per step, in the order the steps ran. */
  timings_ms: Record<string, number>
}

export class Recovery {
  readonly report: RecoveryReport

  constructor (startedAt: string) {
    this.report = {
      started_at: startedAt,
      finished_at: null,
      store: { mode: 'ok' },
      hydrated: { from_store: 0, from_queue: 0, files_read: 0, from_files: 0, files_invalid: [] },
      reaped: [],
      orphans: { skipped: null, outcomes: [] },
      warnings: [],
      timings_ms: {}
    }
  }

  /** Records a warning for the report; the caller logs it. */
  warn (message: string): void {
    this.report.warnings.push(message)
  }

  /** Runs one start-up step and records its duration under `step`. */
  async step<T> (step: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now()
    try {
      return await fn()
    } finally {
      this.report.timings_ms[step] = Math.round((performance.now() - t0) * 10) / 10
    }
  }
}
