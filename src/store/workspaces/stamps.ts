/**
 * Per-name stamps: what the store has acknowledged for a workspace name beyond what its record shows, so
 * that no status.json on the volume can undo an acknowledged write (API §8.1; hydrate.ts judges the files).
 *
 * A name's stamp is the highest `runs` ever acknowledged for it and the latest time of any acknowledged
 * change to it (a report, a claim, a reap, a file start-up took, a deletion), across deletions and
 * re-creations. While a record holds both (the usual case: runs and times only grow), the record is its
 * own stamp and nothing more is stored. A stamp is stored only where the record cannot say it: a deleted
 * name, a name re-created with a lower `runs`, a record whose time went back (a file dated ahead of the
 * service's clock). Start-up forgets the stamps of names without a status.json on the volume, as nothing
 * can speak for those: there are never more stamps than workspace files, plus the deletions since the
 * last start.
 */
import type { Entry } from '../core/rows.js'
import type { Writer } from '../core/writer.js'
import type { Workspace } from './model.js'

export const STAMP_GROUP = 'stamp'
/** The deletion records of earlier versions ({runs, deleted_at}): read as stamps at start-up, then removed. */
export const LEGACY_DELETED_GROUP = 'deleted'

export interface Stamp {
  /** The highest `runs` ever acknowledged for the name. */
  runs: number
  /** The latest time of an acknowledged change to the name (the service's clock, or a file's date it took). */
  at: string
}

type Seen = Pick<Workspace, 'runs' | 'updated_at'>

const later = (a: string, b: string): string => Date.parse(b) > Date.parse(a) ? b : a

/** The stamp that covers both; either may be absent. */
function merge (stamp: Stamp | undefined, record: Seen | undefined): Stamp | undefined {
  if (record === undefined) return stamp
  if (stamp === undefined) return { runs: record.runs, at: record.updated_at }
  return { runs: Math.max(stamp.runs, record.runs), at: later(stamp.at, record.updated_at) }
}

export class Stamps {
  readonly #byName = new Map<string, Stamp>()
  readonly #writer: Writer

  constructor (writer: Writer) {
    this.#writer = writer
  }

  get size (): number { return this.#byName.size }

  get (name: string): Stamp | undefined {
    return this.#byName.get(name)
  }

  /**
   * Loads the stored stamps, and the deletion records of earlier versions as stamps: those are staged in
   * their new group and removed from the old one, with the start-up's commit.
   */
  load (stamps: readonly Entry[], legacy: readonly Entry[]): void {
    for (const e of stamps) this.#byName.set(e.key, JSON.parse(e.value as string) as Stamp)
    for (const e of legacy) {
      const deletion = JSON.parse(e.value as string) as { runs: number, deleted_at: string }
      const stamp = merge(this.#byName.get(e.key), { runs: deletion.runs, updated_at: deletion.deleted_at }) as Stamp
      this.#byName.set(e.key, stamp)
      this.#writer.stage(STAMP_GROUP, e.key, JSON.stringify(stamp), e.updatedAt)
      this.#writer.stage(LEGACY_DELETED_GROUP, e.key, null, e.updatedAt)
    }
    this.#writer.seal('start-up: deletion records read as stamps')
  }

  /** Forgets every stamp without staging anything, before memory is rebuilt from the store (a store that opened late). */
  forgetAll (): void {
    this.#byName.clear()
  }

  /** Everything the store has acknowledged for `name`, whose record is `record` (undefined: none), or undefined if nothing. */
  known (name: string, record: Seen | undefined): Stamp | undefined {
    return merge(this.#byName.get(name), record)
  }

  /**
   * Follows a live change of `name` from `prev` to `next` (undefined: deleted at `at`), in the caller's
   * commit: the stamp is stored while the new record does not carry the highest runs and the latest time
   * acknowledged for the name, and removed once it does.
   */
  follow (name: string, prev: Seen | undefined, next: Seen | undefined, at: string): void {
    const seen = merge(this.#byName.get(name), prev)
    this.#keep(name, next, merge(seen, next ?? { runs: seen?.runs ?? 0, updated_at: at }) as Stamp, at)
  }

  /**
   * Raises a name's time to `claimed`, a date a status.json gives that is later than start-up's clock: it
   * proves nothing now, and once the clock passes it, it must not pass for news either.
   */
  raise (name: string, record: Seen | undefined, claimed: string, at: string): void {
    const seen = merge(this.#byName.get(name), record)
    this.#keep(name, record, { runs: seen?.runs ?? 0, at: seen === undefined ? claimed : later(seen.at, claimed) }, at)
  }

  /** Forgets the stamps of names without a status.json on the volume: no file speaks for those. */
  keepOnly (names: ReadonlySet<string>, at: string): void {
    for (const name of [...this.#byName.keys()]) {
      if (names.has(name)) continue
      this.#byName.delete(name)
      this.#writer.stage(STAMP_GROUP, name, null, at)
    }
  }

  /** Stores `stamp` for `name` unless `record` says as much by itself (then any stored stamp goes). */
  #keep (name: string, record: Seen | undefined, stamp: Stamp, at: string): void {
    const current = this.#byName.get(name)
    const needed = record === undefined || stamp.runs > record.runs || Date.parse(stamp.at) > Date.parse(record.updated_at)
    if (!needed) {
      if (current === undefined) return
      this.#byName.delete(name)
      this.#writer.stage(STAMP_GROUP, name, null, at)
      return
    }
    if (current !== undefined && current.runs === stamp.runs && current.at === stamp.at) return
    this.#byName.set(name, stamp)
    this.#writer.stage(STAMP_GROUP, name, JSON.stringify(stamp), at)
  }
}
