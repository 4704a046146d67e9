/**
 * The journal of committed QA cycles (API §7). Rows live in the store's `journal` group, keyed by a
 * zero-padded id so the store orders them like their ids; reads are served from memory, which holds each
 * row as its stored JSON only: parsed, the findings of a journal at its 64 MB bound took several times
 * that again. A diff parses the few cycles it compares, one at a time.
 */
import { decodeCursor, invalidCursor, pageJson } from '../core/cursor.js'
import type { Database } from '../core/database.js'
import { seqKey } from '../core/keys.js'
import { PageBudget } from '../core/page-budget.js'
import { firstNotBefore } from '../core/search.js'
import { diffCycles } from './findings.js'
import type { Finding, JournalDiff, JournalRow } from './model.js'

export const JOURNAL_GROUP = 'journal'

export const journalKey = seqKey

/** A row as held: its serialised form (a list is a string join) and what indexes it. */
interface Held {
  id: number
  workspace: string
  json: string
}

/** Index of the first held row whose id is at least `id` (rows are kept in id order). */
const lowerBound = (list: readonly Held[], id: number): number => firstNotBefore(list, (h) => h.id < id)

export class Journal {
  readonly #all: Held[] = []
  readonly #byWorkspace = new Map<string, Held[]>()
  readonly #maxBytes: number
  #bytes = 0
  #lastId = 0

  /** `maxBytes`: the rows kept, by their JSON size; past it the oldest are dropped (the newest always stays). */
  constructor (maxBytes = Infinity) {
    this.#maxBytes = maxBytes
  }

  get size (): number { return this.#all.length }

  /** Start-up hydration: the rows as stored (their JSON), in any order. Returns the ids of rows dropped by the bound. */
  load (stored: Iterable<string>): number[] {
    const dropped: number[] = []
    for (const json of stored) {
      const { id, tags } = JSON.parse(json) as JournalRow
      dropped.push(...this.#hold({ id, workspace: tags.workspace, json }))
    }
    return dropped
  }

  /** The id for the next committed cycle; ids are never reused, even if that commit fails. */
  nextId (): number {
    return ++this.#lastId
  }

  /** Adds a stored row given as its stored JSON; returns the ids of the oldest rows dropped to stay within the bound (the caller deletes them from the store). */
  add (row: JournalRow, json: string): number[] {
    return this.#hold({ id: row.id, workspace: row.tags.workspace, json })
  }

  #hold (held: Held): number[] {
    this.#bytes += held.json.length
    this.#lastId = Math.max(this.#lastId, held.id)
    // Commits resolve in id order, so this is an append; the search keeps the order if one ever does not.
    this.#all.splice(lowerBound(this.#all, held.id), 0, held)
    const list = this.#byWorkspace.get(held.workspace)
    if (list === undefined) this.#byWorkspace.set(held.workspace, [held])
    else list.splice(lowerBound(list, held.id), 0, held)
    return this.#trim()
  }

  #trim (): number[] {
    const dropped: number[] = []
    while (this.#bytes > this.#maxBytes && this.#all.length > 1) {
      const oldest = this.#all.shift() as Held
      this.#bytes -= oldest.json.length
      const list = this.#byWorkspace.get(oldest.workspace) as Held[]
      // The oldest row overall is the oldest of its workspace too.
      list.shift()
      if (list.length === 0) this.#byWorkspace.delete(oldest.workspace)
      dropped.push(oldest.id)
    }
    return dropped
  }

  /**
   * A page of rows, newest first, of one workspace or of all, within `limit` rows and `maxBytes` (at least
   * one row); the cursor is the last id returned.
   */
  page (workspace: string | undefined, limit: number, cursor: string | undefined, maxBytes: number): string {
    const list = workspace === undefined ? this.#all : (this.#byWorkspace.get(workspace) ?? [])
    const after = decodeCursor(cursor)
    let i = list.length - 1
    if (after !== undefined) {
      const id = Number(after)
      if (!Number.isSafeInteger(id)) throw invalidCursor()
      i = lowerBound(list, id) - 1
    }
    const page = new PageBudget(limit, maxBytes)
    for (; i >= 0 && page.offer((list[i] as Held).json); i--);
    const last = i >= 0 && page.items.length > 0 ? (list[i + 1] as Held).id : undefined
    return pageJson(page.items, last === undefined ? undefined : journalKey(last))
  }

  /**
   * The latest cycle of `workspace` against the ones before it, over its last `window` cycles. Each cycle is
   * parsed in turn, newest first; of the older ones only the findings' keys are kept (findings.ts).
   */
  diff (workspace: string, window: number): JournalDiff {
    const held = (this.#byWorkspace.get(workspace) ?? []).slice(-window).reverse()
    const cycles: JournalDiff['cycles'] = []
    function * findings (): Generator<Finding[]> {
      for (const h of held) {
        const row = JSON.parse(h.json) as JournalRow
        cycles.push({ id: row.id, measurement: row.measurement, committed_at: row.committed_at })
        yield row.fields.findings
      }
    }
    const diff = diffCycles(findings())
    return { workspace, window, cycles, ...diff }
  }
}

/**
 * Every journal row in the store as its stored JSON (start-up hydration). Streamed column-wise and never
 * parsed whole: with the journal at its 64 MB bound, reading it as rows() took the start-up peak ~45 MB higher.
 */
export async function readJournal (db: Database): Promise<string[]> {
  return (await db.column('SELECT value FROM entries WHERE grp = $1 AND value IS NOT NULL ORDER BY key', [JOURNAL_GROUP])).map(String)
}
