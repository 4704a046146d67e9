/**
 * One record of the change log on disk: a 24-byte header, then the payload (a commit's changes, codec.ts).
 *
 *   0  magic       u32 LE  'ASL1'
 *   4  length      u32 LE  payload bytes
 *   8  commit      u64 LE  the commit's number: records follow each other by one
 *  16  payload crc u32 LE  CRC-32C of the payload
 *  20  header crc  u32 LE  CRC-32C of bytes 0–19
 *
 * The header has its own checksum so a damaged length is never trusted: a reader either finds a whole
 * record, or knows where and why it stopped. A write cut short by a crash leaves a prefix of a record;
 * anything else that fails a check is damage (replay.ts tells the two apart).
 */
import { crc32c } from '@node-rs/crc32'

export const HEADER_BYTES = 24
const MAGIC = 0x314c5341 // 'ASL1' read as u32 LE
const MAGIC_BYTES = Buffer.from('ASL1', 'latin1')
// No commit is near this (a start-up commit of 100,000 workspaces is ~60 MB); a header claiming more is damaged.
export const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024

/** Fills in the header of a record whose payload is already at `buf[HEADER_BYTES…]`; returns `buf`. */
export function sealRecord (buf: Buffer, commit: number): Buffer {
  const length = buf.length - HEADER_BYTES
  buf.writeUInt32LE(MAGIC, 0)
  buf.writeUInt32LE(length, 4)
  buf.writeBigUInt64LE(BigInt(commit), 8)
  buf.writeUInt32LE(crc32c(buf.subarray(HEADER_BYTES)), 16)
  buf.writeUInt32LE(crc32c(buf.subarray(0, 20)), 20)
  return buf
}

/** Why a reader could not take a record at some offset. */
export type InvalidReason =
  /** Fewer bytes than a header: a write cut short (or nothing more than that). */
  | 'short_header'
  /** A header whose magic or checksum is wrong, or that claims an impossible length. */
  | 'bad_header'
  /** A whole header, but the file ends before its payload does: a write cut short. */
  | 'short_record'
  /** A whole record whose payload fails its checksum. */
  | 'bad_checksum'

export type ReadResult =
  | { ok: true, commit: number, payload: Buffer, end: number }
  | { ok: false, reason: InvalidReason }

function headerOk (buf: Buffer, at: number): boolean {
  return buf.readUInt32LE(at) === MAGIC &&
    buf.readUInt32LE(at + 20) === crc32c(buf.subarray(at, at + 20)) &&
    buf.readUInt32LE(at + 4) <= MAX_PAYLOAD_BYTES
}

/** The record that starts at `at`, or why there is none. */
export function readRecord (buf: Buffer, at: number): ReadResult {
  if (buf.length - at < HEADER_BYTES) return { ok: false, reason: 'short_header' }
  if (!headerOk(buf, at)) return { ok: false, reason: 'bad_header' }
  const end = at + HEADER_BYTES + buf.readUInt32LE(at + 4)
  if (end > buf.length) return { ok: false, reason: 'short_record' }
  const payload = buf.subarray(at + HEADER_BYTES, end)
  if (crc32c(payload) !== buf.readUInt32LE(at + 16)) return { ok: false, reason: 'bad_checksum' }
  return { ok: true, commit: Number(buf.readBigUInt64LE(at + 8)), payload, end }
}

/**
 * The offset of the first whole header after `from`, or -1. A crash cuts the last write short and
 * nothing follows it; a whole header after a bad spot means records were written after it: damage.
 */
export function findHeaderAfter (buf: Buffer, from: number): number {
  for (let at = buf.indexOf(MAGIC_BYTES, from + 1); at >= 0 && buf.length - at >= HEADER_BYTES; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
    if (headerOk(buf, at)) return at
  }
  return -1
}
