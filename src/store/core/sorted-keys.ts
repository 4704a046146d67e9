/** A sorted array of unique strings with binary-search insert, delete and seek: cursor pagination without sorting per request. */
export class SortedKeys {
  #keys: string[] = []

  get size (): number { return this.#keys.length }

  /** Index of the first key greater than or equal to `key`. */
  #lowerBound (key: string): number {
    let lo = 0
    let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#keys[mid] as string) < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add (key: string): void {
    const i = this.#lowerBound(key)
    if (this.#keys[i] !== key) this.#keys.splice(i, 0, key)
  }

  /** Adds many keys at once: one sort instead of a splice per key (hydrating 100,000 names one by one is quadratic). */
  addAll (keys: Iterable<string>): void {
    // The default order is by UTF-16 code units, as `<` compares; without a comparator V8 sorts natively.
    this.#keys = [...new Set([...this.#keys, ...keys])].sort()
  }

  delete (key: string): void {
    const i = this.#lowerBound(key)
    if (this.#keys[i] === key) this.#keys.splice(i, 1)
  }

  /** Keys strictly after `after` (all keys when undefined), in order. */
  * after (after: string | undefined): Generator<string> {
    let i = after === undefined ? 0 : this.#lowerBound(after)
    if (after !== undefined && this.#keys[i] === after) i++
    for (; i < this.#keys.length; i++) yield this.#keys[i] as string
  }
}
