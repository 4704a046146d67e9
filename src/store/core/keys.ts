/**
 * Keys of the append-style groups (events, journal rows, outbox items): a number zero-padded to 16 digits,
 * so the store's key order is the numbers' order and a range read is a key range.
 */
export const seqKey = (n: number): string => String(n).padStart(16, '0')
