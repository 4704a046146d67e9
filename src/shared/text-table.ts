/** Plain-text tables for a person with curl: a header line, then columns padded so each starts at the same offset. */

export type Cell = string | number | boolean | null | undefined

export interface Table {
  /** A line above the table, when a response has more than one. */
  title?: string
  columns: string[]
  rows: Cell[][]
  /** A line below the table (e.g. how to get the next page). */
  note?: string
}

// Free text (tasks, questions) can run to thousands of characters; a table row stays readable on one line.
const MAX_CELL = 60
const GAP = '  '

/** Code points, not UTF-16 units, so an emoji counts once. (Double-width CJK still counts once: close enough for a terminal table.) */
const width = (s: string): number => [...s].length

function cellText (cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-'
  if (typeof cell === 'boolean') return cell ? 'yes' : 'no'
  // One line per row: newlines, tabs and runs of spaces would break the columns.
  const text = String(cell).replace(/\s+/g, ' ').trim()
  if (text === '') return '-'
  const chars = [...text]
  return chars.length > MAX_CELL ? chars.slice(0, MAX_CELL - 1).join('') + '…' : text
}

function renderTable (table: Table): string[] {
  const lines = [table.columns, ...table.rows.map((r) => table.columns.map((_, i) => cellText(r[i])))]
  const widths = table.columns.map((_, i) => Math.max(...lines.map((l) => width(l[i] as string))))
  const out = lines.map((l) => l.map((c, i) => c + ' '.repeat((widths[i] as number) - width(c))).join(GAP).trimEnd())
  if (table.rows.length === 0) out.push('(none)')
  if (table.title !== undefined) out.unshift(table.title)
  if (table.note !== undefined) out.push(table.note)
  return out
}

/** The tables, separated by a blank line, ending with a newline. */
export function renderTables (tables: readonly Table[]): string {
  return tables.map((t) => renderTable(t).join('\n')).join('\n\n') + '\n'
}

/** The note under a page of a list: how to ask for the next one. */
export function nextPageNote (cursor: string | null): string | undefined {
  return cursor === null ? undefined : `more: add cursor=${cursor}`
}

/** One object as a two-column table, a row per field that has a value; objects and arrays as JSON. */
export function fieldRows (fields: object | undefined): Table {
  const rows = Object.entries(fields ?? {}).filter(([, v]) => v !== undefined)
    .map(([k, v]): Cell[] => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : v as Cell])
  return { columns: ['FIELD', 'VALUE'], rows }
}
