/** Unique strings in code-unit order: cursor pagination by name without sorting per request. */
import { SortedList } from './sorted-list.js'

export const byCodeUnits = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0

export class SortedKeys extends SortedList<string> {
  constructor () {
    super(byCodeUnits)
  }
}
