/**
 * Deletion records: a workspace deleted through the API stays deleted across restarts even when its
 * status.json is still on the volume (a folder the service cannot write to, or a file it could not
 * remove). Start-up compares a file with the deletion as with a stored record: only a provably newer
 * file (a higher `runs`, or a later `updated_at`) brings the workspace back. A record is kept only while
 * a status.json for it is on the volume, so there are never more records than workspace folders.
 */
import type { Entry } from '../core/rows.js'
import type { Writer } from '../core/writer.js'

export const DELETED_GROUP = 'deleted'

export interface Deletion {
  runs: number
  /** When the DELETE was acknowledged (the service's clock). */
  deleted_at: string
}

export class Deletions {
  readonly #byName = new Map<string, Deletion>()
  readonly #writer: Writer

  constructor (writer: Writer) {
    this.#writer = writer
  }

  get size (): number { return this.#byName.size }

  get (name: string): Deletion | undefined {
    return this.#byName.get(name)
  }

  load (entries: readonly Entry[]): void {
    for (const e of entries) this.#byName.set(e.key, JSON.parse(e.value as string) as Deletion)
  }

  /** Forgets every record without staging anything (memory is about to be rebuilt from the store). */
  forgetAll (): void {
    this.#byName.clear()
  }

  /** Stages the record of a deletion, in the same commit as the deletion itself. */
  record (name: string, runs: number, at: string): void {
    const d: Deletion = { runs, deleted_at: at }
    this.#byName.set(name, d)
    this.#writer.stage(DELETED_GROUP, name, JSON.stringify(d), at)
  }

  /** The workspace lives again: its deletion no longer fences anything. */
  clear (name: string, at: string): void {
    if (this.#byName.delete(name)) this.#writer.stage(DELETED_GROUP, name, null, at)
  }

  /** Forgets the records of workspaces without a status.json on the volume: nothing can bring those back. */
  keepOnly (names: ReadonlySet<string>, at: string): void {
    for (const name of [...this.#byName.keys()]) if (!names.has(name)) this.clear(name, at)
  }
}
