/**
 * Validation issues as the catalogue's field errors: Ajv's (Fastify validates requests with it) and any
 * validator's that reports the same shape, so a bad field reads the same over REST, MCP and in a file's report.
 */
import type { FieldError } from './errors.js'

/** One issue as Ajv (and TypeBox's compiled checks) report it. */
export interface AjvIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** One entry per bad field (alternatives of a union merged into one message); unknown and missing properties name the property itself. */
export function fieldErrors (context: string, issues: AjvIssue[]): FieldError[] {
  const byField = new Map<string, string[]>()
  for (const i of issues) {
    const path = i.instancePath.split('/').filter(Boolean).join('.')
    const extra = i.keyword === 'additionalProperties'
      ? String(i.params.additionalProperty)
      : i.keyword === 'required' ? String(i.params.missingProperty) : ''
    const field = [context, path, extra].filter(Boolean).join('.')
    const message = i.keyword === 'additionalProperties' ? 'unknown field' : (i.message ?? 'is invalid')
    const messages = byField.get(field) ?? []
    if (!messages.includes(message)) messages.push(message)
    byField.set(field, messages)
  }
  return [...byField].map(([field, messages]) => ({ field, message: messages.join(' or ') }))
}
