/**
 * The journal of committed QA cycles (API §7). Rows live in the store's `journal` group, keyed by a
 * zero-padded id so the store orders them like their ids; reads are served from memory.
 */
import { decodeCursor, invalidCursor, pageJson } from '../core/cursor.js'
import type { Database } from '../core/database.js'
import { seqKey } from '../core/keys.js'
import { firstNotBefore } from '../core/search.js'
import { diffCycles } from './findings.js'
import type { JournalDiff, JournalRow } from './model.js'

export const JOURNAL_GROUP = 'journal'

export const journalKey = seqKey

/** A row with its serialised form, computed once so a list is a string join. */
interface Held {
  row: JournalRow
  json: string
}

/** Index of the first held row whose id is at least `id` (rows are kept in id order). */
const lowerBound = (list: readonly Held[], id: number): number => firstNotBefore(list, (h) => h.row.id < id)

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

  /** Start-up hydration: the rows from the store, in any order. Returns the ids of rows dropped by the bound. */
  load (rows: Iterable<JournalRow>): number[] {
    const dropped: number[] = []
    for (const row of rows) dropped.push(...this.add(row))
    return dropped
  }

  /** The id for the next committed cycle; ids are never reused, even if that commit fails. */
  nextId (): number {
    return ++this.#lastId
  }

  /** Adds a stored row; returns the ids of the oldest rows dropped to stay within the bound (the caller deletes them from the store). */
  add (row: JournalRow): number[] {
    const held = { row, json: JSON.stringify(row) }
    this.#bytes += held.json.length
    this.#lastId = Math.max(this.#lastId, row.id)
    // Commits resolve in id order, so this is an append; the search keeps the order if one ever does not.
    this.#all.splice(lowerBound(this.#all, row.id), 0, held)
    const ws = row.tags.workspace
    const list = this.#byWorkspace.get(ws)
    if (list === undefined) this.#byWorkspace.set(ws, [held])
    else list.splice(lowerBound(list, row.id), 0, held)
    return this.#trim()
  }

  #trim (): number[] {
    const dropped: number[] = []
    while (this.#bytes > this.#maxBytes && this.#all.length > 1) {
      const oldest = this.#all.shift() as Held
      this.#bytes -= oldest.json.length
      const list = this.#byWorkspace.get(oldest.row.tags.workspace) as Held[]
      // The oldest row overall is the oldest of its workspace too.
      list.shift()
      if (list.length === 0) this.#byWorkspace.delete(oldest.row.tags.workspace)
      dropped.push(oldest.row.id)
    }
    return dropped
  }

  /** A page of rows, newest first, of one workspace or of all; the cursor is the last id returned. */
  page (workspace: string | undefined, limit: number, cursor: string | undefined): string {
    const list = workspace === undefined ? this.#all : (this.#byWorkspace.get(workspace) ?? [])
    const after = decodeCursor(cursor)
    let i = list.length - 1
    if (after !== undefined) {
      const id = Number(after)
      if (!Number.isSafeInteger(id)) throw invalidCursor()
      i = lowerBound(list, id) - 1
    }
    const items: string[] = []
    for (; i >= 0 && items.length < limit; i--) items.push((list[i] as Held).json)
    const last = i >= 0 && items.length > 0 ? (list[i + 1] as Held).row.id : undefined
    return pageJson(items, last === undefined ? undefined : journalKey(last))
  }

  /** The latest cycle of `workspace` against the ones before it, over its last `window` cycles. */
  diff (workspace: string, window: number): JournalDiff {
    const cycles = (this.#byWorkspace.get(workspace) ?? []).slice(-window).map((h) => h.row)
    return {
      workspace,
      window,
      cycles: cycles.map((r) => ({ id: r.id, measurement: r.measurement, committed_at: r.committed_at })).reverse(),
      ...diffCycles(cycles.map((r) => r.fields.findings))
    }
  }
}

/**
 * Every journal row in the store (start-up hydration). Streamed column-wise, each text dropped once parsed:
 * with the journal at its 64 MB bound, reading it as rows() took the start-up peak ~45 MB higher.
 */
export async function readJournal (db: Database): Promise<JournalRow[]> {
  const texts = await db.column('SELECT value FROM entries WHERE grp = $1 AND value IS NOT NULL ORDER BY key', [JOURNAL_GROUP])
  return texts.map((text, i) => { texts[i] = null; return JSON.parse(String(text)) as JournalRow })
}
