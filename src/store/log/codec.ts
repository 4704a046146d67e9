/**
 * A commit's payload in the log: its changes, each with its source, its entries and its rows for
 * append-only tables, in staging order. Every string is written once, as UTF-8 behind its byte length
 * (entry values are JSON text already: a JSON envelope would escape each of them a second time).
 *
 *   u32 changes, then per change:
 *     str source ('' for none) · u32 entries · per entry: str grp, str key, u8 has value, [str value], str updated_at
 *     u32 appends · per append: str table, str row (JSON), u8 replaces, [str replaced row (JSON)]
 */
import type { Append, AppendRow } from '../core/appends.js'
import type { Entry } from '../core/rows.js'
import { HEADER_BYTES } from './frame.js'

/** One operation's staged writes, as the log holds them and the fold applies them. */
export interface LoggedChange {
  /** What made it (a route, a workspace, a file), for the log when the store refuses it. */
  source: string | undefined
  /** One per (group, key), in staging order; a null value deletes the key. */
  entries: readonly Entry[]
  appends: readonly Append[]
}

// UTF-8 needs at most 3 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units).
const maxBytes = (s: string): number => 4 + s.length * 3

function sizeBound (changes: readonly LoggedChange[]): number {
  let n = 4
  for (const c of changes) {
    n += maxBytes(c.source ?? '') + 8
    for (const e of c.entries) n += maxBytes(e.grp) + maxBytes(e.key) + 1 + maxBytes(e.value ?? '') + maxBytes(e.updatedAt)
    for (const a of c.appends) n += maxBytes(a.table) + maxBytes(JSON.stringify(a.row)) + 1 + (a.replaces === undefined ? 0 : maxBytes(JSON.stringify(a.replaces)))
  }
  return n
}

/**
 * The changes as a record's bytes, with HEADER_BYTES left free at the front for the header (frame.ts), so
 * the record is built in one buffer and written with one call.
 */
export function encodeChanges (changes: readonly LoggedChange[]): Buffer {
  // Rows are serialised twice (for the bound, then for the bytes); they are a few per commit at most.
  const buf = Buffer.allocUnsafe(HEADER_BYTES + sizeBound(changes))
  let at = HEADER_BYTES
  const str = (s: string): void => {
    const n = buf.write(s, at + 4, 'utf8')
    buf.writeUInt32LE(n, at)
    at += 4 + n
  }
  const u32 = (n: number): void => { at = buf.writeUInt32LE(n, at) }
  const u8 = (n: number): void => { at = buf.writeUInt8(n, at) }
  u32(changes.length)
  for (const c of changes) {
    str(c.source ?? '')
    u32(c.entries.length)
    for (const e of c.entries) {
      str(e.grp)
      str(e.key)
      u8(e.value === null ? 0 : 1)
      if (e.value !== null) str(e.value)
      str(e.updatedAt)
    }
    u32(c.appends.length)
    for (const a of c.appends) {
      str(a.table)
      str(JSON.stringify(a.row))
      u8(a.replaces === undefined ? 0 : 1)
      if (a.replaces !== undefined) str(JSON.stringify(a.replaces))
    }
  }
  return buf.subarray(0, at)
}

/** The changes of a payload that passed its checksum; throws if the bytes do not parse (a writer bug, not damage). */
export function decodeChanges (payload: Buffer): LoggedChange[] {
  let at = 0
  const u32 = (): number => {
    const n = payload.readUInt32LE(at)
    at += 4
    return n
  }
  const u8 = (): number => payload.readUInt8(at++)
  const str = (): string => {
    const n = u32()
    if (at + n > payload.length) throw new RangeError('a string runs past the end of the record')
    const s = payload.toString('utf8', at, at + n)
    at += n
    return s
  }
  const changes: LoggedChange[] = []
  for (let c = u32(); c > 0; c--) {
    const source = str()
    const entries: Entry[] = []
    for (let n = u32(); n > 0; n--) {
      const grp = str()
      const key = str()
      const value = u8() === 1 ? str() : null
      entries.push({ grp, key, value, updatedAt: str() })
    }
    const appends: Append[] = []
    for (let n = u32(); n > 0; n--) {
      const table = str()
      const row = JSON.parse(str()) as AppendRow
      appends.push(u8() === 1 ? { table, row, replaces: JSON.parse(str()) as AppendRow } : { table, row })
    }
    changes.push({ source: source === '' ? undefined : source, entries, appends })
  }
  if (at !== payload.length) throw new RangeError('bytes left over after the last change')
  return changes
}
