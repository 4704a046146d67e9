/** The queue in drain order, with admission per entry, and the atomic claim (API §4). */
import type { Workspace } from './model.js'
import type { Reason } from '../pools/model.js'
import type { Pools } from '../pools/pools.js'
import type { Tracked, Workspaces } from './workspaces.js'
import type { CommitResult, Writer } from '../core/writer.js'
import { toIso } from '../core/time.js'
import { decodeCursor, encodeCursor, invalidCursor } from '../core/cursor.js'

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

/** What the drain order reads of a workspace: also all a queue cursor holds. */
export type DrainKey = Pick<Workspace, 'name' | 'priority' | 'queued_at' | 'updated_at'>

/** Priority first (higher sooner), then the oldest `queued_at`, then the name: a total order. */
export function drainOrder (a: DrainKey, b: DrainKey): number {
  if (a.priority !== b.priority) return b.priority - a.priority
  const qa = a.queued_at ?? a.updated_at
  const qb = b.queued_at ?? b.updated_at
  if (qa !== qb) return qa < qb ? -1 : 1
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

/** A queue page's cursor: the drain position of its last item, so the next page resumes there even once that item has left. */
export function encodeQueueCursor (w: DrainKey): string {
  return encodeCursor(JSON.stringify([w.priority, w.queued_at ?? w.updated_at, w.name]))
}

function isPosition (v: unknown): v is [number, string, string] {
  return Array.isArray(v) && v.length === 3 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && typeof v[2] === 'string'
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

  /**
   * The drain position a cursor names (undefined: the head). A cursor issued before positions were (the
   * bare name of a still-queued workspace) is honoured; anything else is a 400.
   */
  position (cursor: string | undefined): DrainKey | undefined {
    const key = decodeCursor(cursor)
    if (key === undefined) return undefined
    let parsed: unknown
    try { parsed = JSON.parse(key) } catch {}
    if (isPosition(parsed)) return { priority: parsed[0], queued_at: parsed[1], updated_at: parsed[1], name: parsed[2] }
    const named = this.#workspaces.get(key)?.record
    if (named?.status === 'queued') return named
    throw invalidCursor()
  }

  /** Every queued workspace in drain order, with whether it could be claimed now and why not. */
  list (): QueueItem[] {
    return this.page(undefined, Infinity).items
  }

  /**
   * Up to `limit` queued workspaces in drain order after `after` (a position, whether or not that workspace
   * is still queued), with admission for those only: the cost is the page's, not the queue's.
   */
  page (after: DrainKey | undefined, limit: number): { items: QueueItem[], more: boolean } {
    const now = this.#clock()
    const items: QueueItem[] = []
    for (const workspace of this.#workspaces.queued(after)) {
      if (items.length === limit) return { items, more: true }
      const reasons = this.#pools.reasons(workspace.pool, workspace.agent, now)
      items.push({ workspace, admissible: reasons.length === 0, reasons })
    }
    return { items, more: false }
  }

  /**
   * Takes the first admissible queued workspace and makes it `running` with `runs + 1`. Selection and
   * the change happen in one synchronous step, so concurrent claims can neither share a workspace nor
   * push a pool past its limit; only the commit is awaited.
   */
  async claim (req: ClaimRequest): Promise<{ tracked: Tracked, store: CommitResult } | null> {
    const now = this.#clock()
    const at = now.toISOString()
    const next = this.#firstAdmissible(req.pool, now)
    if (next === undefined) return null
    const tracked = this.#workspaces.put({
      ...next,
      status: 'running',
      runs: next.runs + 1,
      host: req.host,
      pid: req.pid,
      pid_started_at: req.pid_started_at === undefined ? undefined : toIso(req.pid_started_at),
      question: undefined,
      started_at: at,
      queued_at: undefined,
      updated_at: at,
      heartbeat_at: at,
      reaped: undefined
    }, { action: 'claimed' })
    const store = await this.#writer.commit(`claim: workspace ${next.name}`)
    await this.#workspaces.syncFile(next.name)
    return { tracked, store }
  }

  /** The first queued workspace a claim may take; admission is asked once per agent, however long the queue. */
  #firstAdmissible (pool: string | undefined, now: Date): Workspace | undefined {
    const refused = new Set<string>()
    for (const w of this.#workspaces.queued()) {
      if ((pool !== undefined && w.pool !== pool) || refused.has(w.agent)) continue
      if (this.#pools.reasons(w.pool, w.agent, now).length === 0) return w
      refused.add(w.agent)
    }
    return undefined
  }
}
