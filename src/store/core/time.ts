/**
 * RFC 3339 times to the canonical UTC form. RFC 3339 allows a leap second (`23:59:60Z`), which
 * JavaScript's Date cannot hold: it is read as the last millisecond of that minute, so it still sorts
 * after every earlier instant and before the next minute.
 */
import Format from 'typebox/format'

const LEAP = /^(.*[T ]\d{2}:\d{2}):60(?:\.\d+)?(.*)$/i

/** Milliseconds since the epoch of an RFC 3339 time (NaN when it is not one). */
export function parseTime (t: string): number {
  const leap = LEAP.exec(t)
  return leap === null ? Date.parse(t) : Date.parse(`${leap[1] as string}:59.999${leap[2] as string}`)
}

/** The canonical `…Z` form of a valid RFC 3339 time; undefined stays undefined. */
export function toIso (t: string): string
export function toIso (t: string | undefined): string | undefined
export function toIso (t: string | undefined): string | undefined {
  return t === undefined ? undefined : new Date(parseTime(t)).toISOString()
}

// Date, time, optional fraction, and a zone: `Z` or an offset (the colon optional, as JSON Schema's
// validators have always taken it). A space may stand for the `T`, as RFC 3339 §5.6 allows.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):?(\d{2}))$/

// The instants the store can hold and JavaScript prints as `YYYY-…Z`: years 0000 to 9999 in UTC. An
// offset can carry a time written in year 9999 into year 10000 (`+010000-…`), which DuckDB's
// TIMESTAMPTZ refuses: such a time would fail every commit it rode in.
const EARLIEST = Date.parse('0000-01-01T00:00:00.000Z')
const LATEST = Date.parse('9999-12-31T23:59:59.999Z')

const leapYear = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const daysIn = (year: number, month: number): number => month === 2 && leapYear(year) ? 29 : DAYS[month - 1] as number

/**
 * The `date-time` format, for every schema that carries one (bodies, queries and files alike): an
 * RFC 3339 time of a real calendar day that JavaScript parses, within the instants the store holds.
 * Anything it accepts goes through toIso without throwing and into a TIMESTAMPTZ column.
 */
export function isTime (t: string): boolean {
  const m = RFC3339.exec(t)
  if (m === null) return false
  // Every group but the offset's always matches; an absent offset (`Z`) counts as 0.
  const [year, month, day, hour, minute, second, offsetH, offsetM] = m.slice(1).map((s) => Number(s ?? 0)) as [number, number, number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false
  if (hour > 23 || minute > 59 || second > 60 || offsetH > 23 || offsetM > 59) return false
  const ms = parseTime(t)
  return ms >= EARLIEST && ms <= LATEST
}

// TypeBox's own `date-time` also takes an RFC 9557 suffix (`…Z[Europe/Paris]`) that Date cannot
// parse: a status.json with one stopped the start. Every TypeBox check of the format uses this one.
Format.Set('date-time', isTime)
