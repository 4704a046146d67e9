/** Unique strings in code-unit order: cursor pagination by name without sorting per request. */
import { byCodeUnits, SortedList } from './sorted-list.js'

export class SortedKeys extends SortedList<string> {
  constructor () {
    super(byCodeUnits)
  }
}
