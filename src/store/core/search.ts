/** The one binary search: sorted lists, the event ring and the journal all find their place with it. */

/** Index of the first of `items` (sorted) for which `before` is false; `items.length` when it holds for all. */
export function firstNotBefore<T> (items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(items[mid] as T)) lo = mid + 1
    else hi = mid
  }
  return lo
}
