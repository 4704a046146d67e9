/** Domain errors: each carries the HTTP status and the stable `code` of API §1, so routes stay thin. */
export interface FieldError {
  field: string
  message: string
}

export class DomainError extends Error {
  constructor (readonly status: number, readonly code: string, message: string, readonly errors?: FieldError[]) {
    super(message)
  }
}

export const notFound = (what: string) => new DomainError(404, 'not_found', `${what} not found`)
export const staleRun = (detail: string) => new DomainError(409, 'stale_run', detail)
export const illegalTransition = (detail: string) => new DomainError(409, 'illegal_transition', detail)
export const preconditionFailed = (detail: string) => new DomainError(412, 'precondition_failed', detail)
export const exists = (detail: string) => new DomainError(409, 'exists', detail)
export const invalidName = (detail: string) => new DomainError(400, 'invalid_name', detail)
export const storeUnavailable = (detail: string) => new DomainError(503, 'store_unavailable', detail)
