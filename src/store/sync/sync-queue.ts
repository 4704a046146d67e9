/**
 * The sync outbox (API §6): queued pushes and dead letters, in order, in memory; every change is staged
 * with its event and answered once committed. An item is held as its stored JSON and its fields without the
 * dispatches (the bulk of it), which are parsed back only to deliver or change it: at the outbox's 64 MB
 * bound a parsed copy beside the JSON doubled what it held. Each item is one entry keyed by a zero-padded sequence
 * number, so the store keeps the queue's order and a restart resumes it; a delivered or dropped item's
 * entry is a tombstone, so an emptied queue leaves no rows. Delivery itself is sync-flusher.ts's job.
 */
import { seqKey } from '../core/keys.js'
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { SyncItem, SyncPush, SyncStatus } from './model.js'
import { decodeCursor, pageJson } from '../core/cursor.js'
import { PageBudget } from '../core/page-budget.js'
import { limitReached, notFound } from '../core/errors.js'
import { UNLIMITED, type Limits } from '../core/limits.js'
import type { EventLog } from '../events/events.js'
import type { Entry } from '../core/rows.js'
import { SortedKeys } from '../core/sorted-keys.js'
import type { CommitResult, Writer } from '../core/writer.js'

export const SYNC_QUEUE_GROUP = 'sync_queue'
export const SYNC_DEAD_GROUP = 'sync_dead'
/** Idempotency keys of items that left (delivered or dropped), so a late repeat of the request is still recognised. */
export const SYNC_KEYS_GROUP = 'sync_keys'
export const SYNC_GROUPS = [SYNC_QUEUE_GROUP, SYNC_DEAD_GROUP, SYNC_KEYS_GROUP] as const

/** How long, and how many, idempotency keys of departed items are remembered. */
const KEY_TTL_MS = 24 * 3600 * 1000
const MAX_REMEMBERED_KEYS = 10000

export type SyncAccepted = Pick<SyncItem, 'id' | 'queued_at' | 'attempts'>

/** An item without its dispatches: everything the queue reads of it. */
type SyncMeta = Omit<SyncItem, 'dispatches'>

interface Held {
  key: string
  item: SyncMeta
  json: string
}

/** The whole item, dispatches included, from its JSON. */
const whole = (held: Held): SyncItem => JSON.parse(held.json) as SyncItem

function heldOf (key: string, item: SyncItem, json: string): Held {
  const { dispatches: _, ...meta } = item
  return { key, item: meta, json }
}

interface RememberedKey {
  id: string
  queued_at: string
  expires_at: string
}

// Random, not a sequence: upstream deduplicates on the id, so one must never be issued twice, even after the queue emptied.
const newId = (): string => 'sq_' + randomBytes(12).toString('base64url')
const accepted = (item: Pick<SyncItem, 'id' | 'queued_at'>): SyncAccepted => ({ id: item.id, queued_at: item.queued_at, attempts: 0 })

/** One ordered list of items (the queue, or the dead letters), mirrored to its group. */
class Lane {
  readonly group: string
  readonly #held = new Map<string, Held>()
  readonly #keys = new SortedKeys()
  readonly #writer: Writer
  #bytes = 0

  constructor (group: string, writer: Writer) {
    this.group = group
    this.#writer = writer
  }

  get size (): number { return this.#held.size }
  /** The stored JSON of every item together: what the outbox bound counts. */
  get bytes (): number { return this.#bytes }

  get (key: string | undefined): Held | undefined {
    return key === undefined ? undefined : this.#held.get(key)
  }

  first (): Held | undefined {
    const { value } = this.#keys.after(undefined).next()
    return this.get(value)
  }

  all (): Held[] {
    return [...this.#held.values()]
  }

  /** Puts an item under `key`; `json` is its stored form when it comes from the store (then nothing is staged). */
  set (key: string, item: SyncItem, at: string, json?: string): Held {
    const held = heldOf(key, item, json ?? JSON.stringify(item))
    const prev = this.#held.get(key)
    if (prev === undefined) this.#keys.add(key)
    this.#bytes += held.json.length - (prev?.json.length ?? 0)
    this.#held.set(key, held)
    if (json === undefined) this.#writer.stage(this.group, key, held.json, at)
    return held
  }

  delete (key: string, at: string): void {
    this.#bytes -= this.#held.get(key)?.json.length ?? 0
    this.#held.delete(key)
    this.#keys.delete(key)
    this.#writer.stage(this.group, key, null, at)
  }

  page (limit: number, cursor: string | undefined, maxBytes: number): string {
    const page = new PageBudget(limit, maxBytes)
    let last: string | undefined
    for (const key of this.#keys.after(decodeCursor(cursor))) {
      if (!page.offer((this.#held.get(key) as Held).json)) return pageJson(page.items, last)
      last = key
    }
    return pageJson(page.items, undefined)
  }
}

export class SyncQueue extends EventEmitter<{ changed: [] }> {
  readonly #queue: Lane
  readonly #dead: Lane
  /** Item id → its key in whichever lane holds it. */
  readonly #keyOf = new Map<string, string>()
  /** Idempotency key → id, for items still queued or dead. */
  readonly #live = new Map<string, string>()
  /** Idempotency key → departed item, oldest first. */
  readonly #remembered = new Map<string, RememberedKey>()
  // Ids of items appended whose commit is still in flight: the flusher must not see them yet.
  readonly #uncommitted = new Set<string>()
  readonly #writer: Writer
  readonly #events: EventLog
  readonly #clock: () => Date
  #seq = 0
  #lastPushAt: string | null = null
  #lastError: string | null = null

  readonly #limits: Pick<Limits, 'syncItems' | 'syncBytes'>

  constructor (deps: { writer: Writer, events: EventLog, clock: () => Date, limits?: Pick<Limits, 'syncItems' | 'syncBytes'> }) {
    super()
    this.#limits = deps.limits ?? UNLIMITED
    this.#writer = deps.writer
    this.#events = deps.events
    this.#clock = deps.clock
    this.#queue = new Lane(SYNC_QUEUE_GROUP, deps.writer)
    this.#dead = new Lane(SYNC_DEAD_GROUP, deps.writer)
  }

  /** Loads the queue, the dead letters and the remembered keys (start-up; key order makes it cheap); expired keys are staged for deletion. */
  load (groups: Map<string, Entry[]>): { queued: number, dead: number } {
    for (const lane of [this.#queue, this.#dead]) {
      for (const e of groups.get(lane.group) ?? []) {
        const item = JSON.parse(e.value as string) as SyncItem
        lane.set(e.key, item, e.updatedAt, e.value as string)
        this.#index(item, e.key)
        this.#seq = Math.max(this.#seq, Number(e.key))
      }
    }
    const remembered = (groups.get(SYNC_KEYS_GROUP) ?? []).map((e) => [e.key, JSON.parse(e.value as string) as RememberedKey] as const)
    for (const [key, r] of remembered.sort(([, a], [, b]) => a.expires_at < b.expires_at ? -1 : 1)) this.#remembered.set(key, r)
    this.#prune(this.#now())
    // A flusher already running (a store that opened late) has an outbox to deliver now.
    if (this.#queue.size > 0) this.emit('changed')
    return { queued: this.#queue.size, dead: this.#dead.size }
  }

  /**
   * The item the flusher delivers next: strictly head of line. An item whose enqueue has not committed
   * yet is not handed out (nor is anything behind it): upstream must never see an item this service
   * could still lose in a crash, or a client retry would reach upstream under a second id.
   */
  head (): SyncItem | undefined {
    const first = this.#queue.first()
    return first === undefined || this.#uncommitted.has(first.item.id) ? undefined : whole(first)
  }

  status (): Omit<SyncStatus, 'upstream_configured'> {
    return { queued: this.#queue.size, dead: this.#dead.size, last_push_at: this.#lastPushAt, last_error: this.#lastError }
  }

  /** A page in delivery order within `limit` items and `maxBytes` (at least one item), as a ready JSON body. */
  page (which: 'queue' | 'dead', limit: number, cursor: string | undefined, maxBytes: number): string {
    return this.#lane(which).page(limit, cursor, maxBytes)
  }

  /** Accepts a push; with an idempotency key already seen, answers the first item instead (`repeat`). */
  async enqueue (push: SyncPush, idempotencyKey: string | undefined, by: string): Promise<{ accepted: SyncAccepted, repeat: boolean, store: CommitResult }> {
    const first = idempotencyKey === undefined ? undefined : this.#firstFor(idempotencyKey)
    // A repeat may arrive before the first request's commit: waiting for a commit makes its answer durable too.
    if (first !== undefined) return { accepted: first, repeat: true, store: await this.#writer.commit() }
    const at = this.#now()
    const item: SyncItem = {
      id: newId(),
      agent_id: push.agent_id,
      fleet_node_id: push.fleet_node_id,
      dispatches: push.dispatches,
      queued_at: at,
      attempts: 0,
      next_attempt_at: null,
      last_error: null,
      idempotency_key: idempotencyKey
    }
    this.#checkRoom(JSON.stringify(item).length)
    this.#append(item, at)
    this.#events.record('sync', item.id, { action: 'queued', agent_id: item.agent_id, dispatches: item.dispatches.length, by }, at)
    return { accepted: accepted(item), repeat: false, store: await this.#commitChange(item.id) }
  }

  /** Upstream has the item: it leaves the queue. */
  async delivered (id: string): Promise<void> {
    const at = this.#now()
    this.#lastPushAt = at
    this.#lastError = null
    const held = this.#find(this.#queue, id)
    if (held === undefined) return // dropped while it was in flight
    this.#depart(this.#queue, held, at)
    this.#events.record('sync', id, { action: 'delivered', attempts: held.item.attempts + 1 }, at)
    await this.#writer.commit()
  }

  /** A failed attempt: the item waits until `retryAt`, or with null becomes a dead letter. */
  async failed (id: string, error: string, retryAt: string | null): Promise<void> {
    this.#lastError = error
    const held = this.#find(this.#queue, id)
    if (held === undefined) return
    const at = this.#now()
    const item: SyncItem = { ...whole(held), attempts: held.item.attempts + 1, next_attempt_at: retryAt, last_error: error }
    if (retryAt === null) {
      this.#queue.delete(held.key, at)
      this.#dead.set(held.key, { ...item, dead_at: at }, at)
    } else {
      this.#queue.set(held.key, item, at)
    }
    this.#events.record('sync', id, { action: retryAt === null ? 'dead' : 'retry', attempts: item.attempts, error, next_attempt_at: retryAt }, at)
    await this.#writer.commit()
  }

  /** Removes one queued item or dead letter (admin); 404 when that lane does not hold it. */
  async drop (which: 'queue' | 'dead', id: string, by: string): Promise<CommitResult> {
    const lane = this.#lane(which)
    const held = this.#find(lane, id)
    if (held === undefined) throw notFound(`sync ${which === 'queue' ? 'item' : 'dead letter'} ${id}`)
    this.#dropHeld(lane, held, by, this.#now())
    return this.#commitChange()
  }

  /** Empties the queue (admin); dead letters stay. */
  async dropAll (by: string): Promise<{ dropped: number, store: CommitResult }> {
    const at = this.#now()
    const all = this.#queue.all()
    for (const held of all) this.#dropHeld(this.#queue, held, by, at)
    return { dropped: all.length, store: await this.#commitChange() }
  }

  /** Moves a dead letter to the tail of the queue with a fresh attempt count; it keeps its id, so upstream can still deduplicate. */
  async replay (id: string, by: string): Promise<{ json: string, store: CommitResult }> {
    const held = this.#find(this.#dead, id)
    if (held === undefined) throw notFound(`sync dead letter ${id}`)
    const at = this.#now()
    const { dead_at: _, ...item } = whole(held)
    this.#dead.delete(held.key, at)
    const queued = this.#append({ ...item, attempts: 0, next_attempt_at: null, last_error: null }, at)
    this.#events.record('sync', id, { action: 'replayed', previous_error: held.item.last_error, by }, at)
    return { json: queued.json, store: await this.#commitChange(id) }
  }

  #now (): string {
    return this.#clock().toISOString()
  }

  #lane (which: 'queue' | 'dead'): Lane {
    return which === 'queue' ? this.#queue : this.#dead
  }

  #find (lane: Lane, id: string): Held | undefined {
    return lane.get(this.#keyOf.get(id))
  }

  /** Puts an item at the tail of the queue. */
  #append (item: SyncItem, at: string): Held {
    const key = seqKey(++this.#seq)
    this.#index(item, key)
    return this.#queue.set(key, item, at)
  }

  #index (item: SyncItem, key: string): void {
    this.#keyOf.set(item.id, key)
    if (item.idempotency_key !== undefined) this.#live.set(item.idempotency_key, item.id)
  }

  #firstFor (idempotencyKey: string): SyncAccepted | undefined {
    const id = this.#live.get(idempotencyKey)
    const held = id === undefined ? undefined : this.#find(this.#queue, id) ?? this.#find(this.#dead, id)
    if (held !== undefined) return accepted(held.item)
    const r = this.#remembered.get(idempotencyKey)
    return r !== undefined && r.expires_at > this.#now() ? { id: r.id, queued_at: r.queued_at, attempts: 0 } : undefined
  }

  #dropHeld (lane: Lane, held: Held, by: string, at: string): void {
    this.#depart(lane, held, at)
    this.#events.record('sync', held.item.id, { action: 'dropped', from: lane === this.#queue ? 'queue' : 'dead', by }, at)
  }

  /** Removes an item for good; its idempotency key is remembered for a while after. */
  #depart (lane: Lane, held: Held, at: string): void {
    const { id, idempotency_key: key, queued_at: queuedAt } = held.item
    lane.delete(held.key, at)
    this.#keyOf.delete(id)
    if (key === undefined) return
    this.#live.delete(key)
    const r: RememberedKey = { id, queued_at: queuedAt, expires_at: new Date(Date.parse(at) + KEY_TTL_MS).toISOString() }
    this.#remembered.delete(key) // re-inserted at the end, keeping the map in expiry order
    this.#remembered.set(key, r)
    this.#writer.stage(SYNC_KEYS_GROUP, key, JSON.stringify(r), at)
    this.#prune(at)
  }

  /** Forgets expired keys and, past the bound, the oldest ones. */
  #prune (at: string): void {
    for (const [key, r] of this.#remembered) {
      if (r.expires_at > at && this.#remembered.size <= MAX_REMEMBERED_KEYS) break
      this.#remembered.delete(key)
      this.#writer.stage(SYNC_KEYS_GROUP, key, null, at)
    }
  }

  #checkRoom (bytes: number): void {
    const { syncItems, syncBytes } = this.#limits
    if (this.#queue.size + this.#dead.size >= syncItems) {
      throw limitReached(`the sync outbox holds its maximum of ${syncItems} items (queued and dead); retry once some are delivered or dropped`)
    }
    if (this.#queue.bytes + this.#dead.bytes + bytes > syncBytes) {
      throw limitReached(`the sync outbox would exceed its maximum of ${syncBytes} bytes; retry once some items are delivered or dropped`)
    }
  }

  /** Commits a change made through the API, then lets the flusher look at the (possibly new) head. */
  async #commitChange (added?: string): Promise<CommitResult> {
    if (added !== undefined) this.#uncommitted.add(added)
    try {
      return await this.#writer.commit()
    } finally {
      // Degraded commits resolve too: then memory is all there is, and delivery goes ahead from it.
      if (added !== undefined) this.#uncommitted.delete(added)
      this.emit('changed')
    }
  }
}
