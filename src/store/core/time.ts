/**
 * RFC 3339 times to the canonical UTC form. RFC 3339 allows a leap second (`23:59:60Z`), which
 * JavaScript's Date cannot hold: it is read as the last millisecond of that minute, so it still sorts
 * after every earlier instant and before the next minute.
 */
const LEAP = /^(.*T\d{2}:\d{2}):60(?:\.\d+)?(.*)$/i

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
