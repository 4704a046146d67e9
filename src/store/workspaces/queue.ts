/** The queue in drain order, with admission per entry, and the atomic claim (API §4). */
import type { Workspace } from './model.js'
import type { Pools, Reason } from '../pools/pools.js'
import type { Tracked, Workspaces } from './workspaces.js'
import type { CommitResult, Writer } from '../core/writer.js'

export interface QueueItem {
  workspace: Workspace
  admissible: boolean
  reasons: Reason[]
}

export interface ClaimRequest {
  pool?: string
  host?: string
  pid?: number
  pid_started_at?: string
}

/** Priority first (higher sooner), then the oldest `queued_at`, then the name: a total order. */
export function drainOrder (a: Workspace, b: Workspace): number {
  if (a.priority !== b.priority) return b.priority - a.priority
  const qa = a.queued_at ?? a.updated_at
  const qb = b.queued_at ?? b.updated_at
  if (qa !== qb) return qa < qb ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

export class Queue {
  readonly #workspaces: Workspaces
  readonly #pools: Pools
  readonly #writer: Writer
  readonly #clock: () => Date

  constructor (deps: { workspaces: Workspaces, pools: Pools, writer: Writer, clock: () => Date }) {
    this.#workspaces = deps.workspaces
    this.#pools = deps.pools
    this.#writer = deps.writer
    this.#clock = deps.clock
  }

  /** Every queued workspace in drain order, with whether it could be claimed now and why not. */
  list (): QueueItem[] {
    const now = this.#clock()
    return this.#workspaces.queued().sort(drainOrder).map((workspace) => {
      const reasons = this.#pools.reasons(workspace.pool, workspace.agent, now)
      return { workspace, admissible: reasons.length === 0, reasons }
    })
  }

  /**
   * Takes the first admissible queued workspace and makes it `running` with `runs + 1`. Selection and
   * the change happen in one synchronous step, so concurrent claims can neither share a workspace nor
   * push a pool past its limit; only the commit is awaited.
   */
  async claim (req: ClaimRequest): Promise<{ tracked: Tracked, store: CommitResult } | null> {
    const now = this.#clock()
    const at = now.toISOString()
    const next = this.#workspaces.queued().sort(drainOrder)
      .find((w) => (req.pool === undefined || w.pool === req.pool) && this.#pools.reasons(w.pool, w.agent, now).length === 0)
    if (next === undefined) return null
    const tracked = this.#workspaces.put({
      ...next,
      status: 'running',
      runs: next.runs + 1,
      host: req.host,
      pid: req.pid,
      pid_started_at: req.pid_started_at === undefined ? undefined : new Date(req.pid_started_at).toISOString(),
      question: undefined,
      started_at: at,
      queued_at: undefined,
      updated_at: at,
      heartbeat_at: at,
      reaped: undefined
    }, { action: 'claimed' })
    const store = await this.#writer.commit()
    await this.#workspaces.syncFile(next.name)
    return { tracked, store }
  }
}
