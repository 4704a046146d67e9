/** Opaque list cursors: the last key of a page, base64url-encoded; anything else is a 400. */
import { DomainError } from './errors.js'

export function encodeCursor (lastKey: string): string {
  return Buffer.from(JSON.stringify({ k: lastKey })).toString('base64url')
}

export const invalidCursor = (): DomainError =>
  new DomainError('invalid_cursor', 'the cursor is not one this service issued', [{ field: 'query.cursor', message: 'unrecognised cursor' }])

export function decodeCursor (cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    const key = (parsed as { k?: unknown }).k
    if (typeof key === 'string') return key
  } catch {}
  throw invalidCursor()
}

/** Serialises a page from pre-serialised items, so a list costs a string join rather than a re-encode. */
export function pageJson (items: readonly string[], nextKey: string | undefined): string {
  const next = nextKey === undefined ? 'null' : JSON.stringify(encodeCursor(nextKey))
  return `{"items":[${items.join(',')}],"next_cursor":${next}}`
}
