/**
 * A list page bounded twice: by the items a client asked for (`limit`) and by bytes (PAGE_MAX_BYTES). A
 * journal row or an outbox item can be megabytes, so `limit=1000` alone let one read build a page of the
 * whole journal (64 MB) and a few concurrent ones exhaust the heap. A page always holds at least one item
 * (an item cannot be split); past the budget the page ends and the cursor continues after its last item.
 */
const utf8Bytes = (json: unknown): number => Buffer.byteLength(json as string)

export class PageBudget<T = string> {
  readonly items: T[] = []
  readonly #limit: number
  readonly #maxBytes: number
  readonly #size: (item: T) => number
  #bytes = 0

  /** `size`: an item's bytes in the answer; by default the item is its own serialised form. */
  constructor (limit: number, maxBytes: number, size: (item: T) => number = utf8Bytes) {
    this.#limit = limit
    this.#maxBytes = maxBytes
    this.#size = size
  }

  /** Adds the item when it still fits (the first always does); false when the page is full. */
  offer (item: T): boolean {
    // The comma that joins it to the page counts too.
    const bytes = this.#size(item) + 1
    if (this.items.length > 0 && (this.items.length >= this.#limit || this.#bytes + bytes > this.#maxBytes)) return false
    this.items.push(item)
    this.#bytes += bytes
    return true
  }
}
