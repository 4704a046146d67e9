/**
 * The open QA buffers of this process (API §7): one BufferFile per name, never two instances on one
 * file, and the commit that turns a buffer into one journal row.
 */
import { lstat } from 'node:fs/promises'
import type { Logger } from '../core/logger.js'
import { BufferFile, type NewEntry } from './buffer-file.js'
import { decodeCursor, pageJson } from '../core/cursor.js'
import { PageBudget } from '../core/page-budget.js'
import { DomainError, exists, invalidName, limitReached, notFound, storeUnavailable, tooLarge } from '../core/errors.js'
import { UNLIMITED, type Limits } from '../core/limits.js'
import { assertDescriptors, DESCRIPTOR_COSTS } from '../core/descriptors.js'
import { checkIfMatch, etagOf } from '../core/etag.js'
import { EVENT_GROUP, eventKey, type EventLog } from '../events/events.js'
import { JOURNAL_GROUP, journalKey, type Journal } from './journal.js'
import type { BufferView, JournalRow } from './model.js'
import { markerEntry, stageMarker } from './markers.js'
import { BUFFER_NAME } from './model.js'
import { bufferFile } from './paths.js'
import { SortedKeys } from '../core/sorted-keys.js'
import type { CommitResult, Writer } from '../core/writer.js'

interface OpenBuffer {
  name: string
  workspace: string
  createdAt: string
  file: BufferFile
  /** Kept in step with every append, so reads never touch the file; a commit reads the file itself. */
  aggregate: Record<string, number>
  count: number
  /** Bytes of entry data appended, against the per-buffer bound. */
  bytes: number
  /** Set once a commit or discard has begun: later writes are refused. */
  closing: boolean
}

export interface CommitOutcome {
  row: JournalRow
  store: CommitResult
}

export interface BuffersDeps {
  dataDir: string
  writer: Writer
  events: EventLog
  journal: Journal
  clock: () => Date
  log: Logger
  limits?: Pick<Limits, 'buffersOpen' | 'bufferEntries' | 'bufferBytes'>
  /** Test seam: runs between the journal commit and the file's removal, the window the commit marker covers. */
  onJournalled?: (name: string) => Promise<void> | void
}

/** A view with its serialised form and ETag. */
export interface BufferRead {
  view: BufferView
  json: string
  etag: string
}

function viewOf (b: OpenBuffer): BufferRead {
  const aggregate = Object.fromEntries(Object.entries(b.aggregate).sort(([x], [y]) => x < y ? -1 : 1))
  const view: BufferView = { name: b.name, workspace: b.workspace, count: b.count, aggregate, created_at: b.createdAt }
  const json = JSON.stringify(view)
  return { view, json, etag: etagOf(json) }
}

const fileExists = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false)

export class Buffers {
  readonly #open = new Map<string, OpenBuffer>()
  readonly #names = new SortedKeys()
  /** Names whose file is being created: a second create of the same name must fail, not open the file twice. */
  readonly #creating = new Set<string>()
  readonly #deps: BuffersDeps

  constructor (deps: BuffersDeps) {
    this.#deps = deps
  }

  get size (): number { return this.#open.size }

  async create (name: string, workspace: string | undefined): Promise<{ buffer: BufferRead, store: CommitResult }> {
    if (!BUFFER_NAME.test(name)) throw invalidName(`a buffer name must match ${BUFFER_NAME.source}`)
    if (this.#open.has(name) || this.#creating.has(name)) throw exists(`buffer ${name} is open`)
    const { buffersOpen } = this.#deps.limits ?? UNLIMITED
    if (this.#open.size + this.#creating.size >= buffersOpen) {
      throw limitReached(`${buffersOpen} buffers are open, the maximum; commit or discard one first`)
    }
    assertDescriptors(DESCRIPTOR_COSTS.buffer, 'a new buffer')
    const path = bufferFile(this.#deps.dataDir, name)
    this.#creating.add(name)
    let b: OpenBuffer
    try {
      if (await fileExists(path)) {
        throw exists(`a buffer file named ${name} is on the volume, left by an earlier process; start-up recovery removes it`)
      }
      const file = await BufferFile.create(path)
      b = { name, workspace: workspace ?? name, createdAt: this.#deps.clock().toISOString(), file, aggregate: {}, count: 0, bytes: 0, closing: false }
      this.#open.set(name, b)
      this.#names.add(name)
    } finally {
      this.#creating.delete(name)
    }
    this.#deps.events.record('buffer', name, { action: 'created', workspace: b.workspace }, b.createdAt)
    return { buffer: viewOf(b), store: await this.#deps.writer.commit() }
  }

  /** One buffer as a view with its ETag, or undefined. */
  get (name: string): BufferRead | undefined {
    const b = this.#open.get(name)
    return b === undefined ? undefined : viewOf(b)
  }

  /** A page of open buffers in name order within `limit` buffers and `maxBytes` (at least one), as a ready JSON body. */
  page (limit: number, cursor: string | undefined, maxBytes: number): string {
    const page = new PageBudget(limit, maxBytes)
    let last: string | undefined
    let more = false
    for (const name of this.#names.after(decodeCursor(cursor))) {
      if (!page.offer(viewOf(this.#open.get(name) as OpenBuffer).json)) { more = true; break }
      last = name
    }
    return pageJson(page.items, more ? last : undefined)
  }

  async append (name: string, entries: readonly NewEntry[], ifMatch?: string): Promise<BufferRead> {
    const b = this.#writable(name, ifMatch)
    const { bufferEntries, bufferBytes } = this.#deps.limits ?? UNLIMITED
    const bytes = entries.reduce((n, e) => n + e.kind.length + JSON.stringify(e.data).length, 0)
    if (b.count + entries.length > bufferEntries) throw tooLarge(`buffer ${name} would exceed its maximum of ${bufferEntries} entries; commit it and start another`)
    if (b.bytes + bytes > bufferBytes) throw tooLarge(`buffer ${name} would exceed its maximum of ${bufferBytes} bytes of entries; commit it and start another`)
    await b.file.append(entries, this.#deps.clock().getTime())
    for (const e of entries) b.aggregate[e.kind] = (b.aggregate[e.kind] ?? 0) + 1
    b.count += entries.length
    b.bytes += bytes
    return viewOf(b)
  }

  /**
   * Journals the buffer: the journal row, the commit marker and the event go into the store in one
   * statement (so together or not at all), and only then is the file removed. A crash in between
   * leaves a file whose marker exists: the next start-up deletes it instead of discarding it.
   */
  async commit (name: string, ifMatch?: string): Promise<CommitOutcome> {
    const { writer, events, journal, clock } = this.#deps
    const b = this.#writable(name, ifMatch)
    // A journal row is answered only once durable; while degraded, the buffer stays open for a retry.
    if (writer.mode === 'degraded') throw storeUnavailable('the store is unavailable, so the cycle cannot be journalled durably; the buffer stays open')
    b.closing = true
    let contents: Awaited<ReturnType<BufferFile['contents']>>
    try {
      contents = await b.file.contents()
    } catch (err) {
      b.closing = false
      throw err
    }
    const at = clock().toISOString()
    const row: JournalRow = { id: journal.nextId(), measurement: name, tags: { workspace: b.workspace }, fields: contents, committed_at: at }
    const json = JSON.stringify(row)
    writer.stage(JOURNAL_GROUP, journalKey(row.id), json, at)
    stageMarker(writer, name, contents.aggregate, at)
    const event = events.record('buffer', name, { action: 'committed', workspace: b.workspace, journal_id: row.id, aggregate: contents.aggregate }, at)
    const store = await this.#store(b, row.id, [[JOURNAL_GROUP, journalKey(row.id)], markerEntry(name), [EVENT_GROUP, eventKey(event.id)]])
    for (const id of journal.add(row, json)) writer.stage(JOURNAL_GROUP, journalKey(id), null, at)
    await this.#deps.onJournalled?.(name)
    this.#forget(name)
    if (await this.#removeFile(b)) stageMarker(writer, name, null, clock().toISOString())
    // The cycle is journalled: what follows (the marker cleared, old rows past the bound deleted) is
    // held if it cannot be stored now, and harmless if lost.
    await writer.commit().catch(() => {})
    return { row, store }
  }

  /**
   * Stores the staged cycle. If the store refuses that very statement, the cycle is taken back from the
   * writer (never stored later behind the client's back) and the buffer reopened with its file, so the
   * client's retry journals it exactly once; watchers of the event stream are told the commit failed.
   */
  async #store (b: OpenBuffer, journalId: number, staged: ReadonlyArray<readonly [string, string]>): Promise<CommitResult> {
    const { writer, events, clock } = this.#deps
    for (;;) {
      try {
        return await writer.commit()
      } catch (err) {
        // A flush already has the cycle in flight (the store's retry raced this answer): its outcome decides.
        if (!writer.withdraw(staged)) continue
        b.closing = false
        events.record('buffer', b.name, { action: 'commit_failed', workspace: b.workspace, journal_id: journalId }, clock().toISOString())
        throw err
      }
    }
  }

  /** Closes and deletes the buffer; nothing is journalled. */
  async discard (name: string, ifMatch?: string): Promise<CommitResult> {
    const b = this.#writable(name, ifMatch)
    b.closing = true
    this.#forget(name)
    await this.#removeFile(b)
    this.#deps.events.record('buffer', name, { action: 'discarded', workspace: b.workspace, aggregate: b.aggregate }, this.#deps.clock().toISOString())
    return await this.#deps.writer.commit()
  }

  /** Shutdown: closes every buffer and keeps its file, an orphan the next start-up discards (go-store's Close). */
  async closeAll (): Promise<void> {
    const all = [...this.#open.values()]
    for (const b of all) this.#forget(b.name)
    await Promise.all(all.map((b) => b.file.close()))
  }

  #writable (name: string, ifMatch: string | undefined): OpenBuffer {
    const b = this.#open.get(name)
    if (b === undefined) throw notFound(`buffer ${name}`)
    checkIfMatch(viewOf(b).etag, ifMatch, `buffer ${name}`)
    if (b.closing) throw new DomainError('buffer_closing', `buffer ${name} is being committed or discarded`)
    return b
  }

  #forget (name: string): void {
    this.#open.delete(name)
    this.#names.delete(name)
  }

  /** Deletes a closed buffer's files; a failure is logged, not raised: the file is then an orphan for the next start-up. */
  async #removeFile (b: OpenBuffer): Promise<boolean> {
    try {
      await b.file.remove()
      return true
    } catch (err) {
      this.#deps.log.warn({ err, buffer: b.name }, 'could not remove a buffer file; the next start-up recovers it')
      return false
    }
  }
}
