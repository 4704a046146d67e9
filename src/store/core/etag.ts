/** Strong ETags over a resource's serialised form, and the `If-Match` check every conditional write shares (API §1). */
import { createHash } from 'node:crypto'
import { preconditionFailed } from './errors.js'

export function etagOf (json: string): string {
  return `"${createHash('sha1').update(json).digest('base64url').slice(0, 22)}"`
}

/**
 * `If-Match` per RFC 9110: `*` matches any current resource, otherwise one of the listed ETags must.
 * `current` is the resource's ETag, or undefined when it does not exist; `what` names it in the 412.
 */
export function checkIfMatch (current: string | undefined, ifMatch: string | undefined, what: string): void {
  if (ifMatch === undefined) return
  const tags = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, ''))
  const ok = current !== undefined && (tags.includes('*') || tags.includes(current))
  if (!ok) throw preconditionFailed(current === undefined ? `${what} does not exist` : `${what} changed since that ETag was issued`)
}
