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
/** A bound on what clients may create is reached (open buffers, the outbox): retry once some is freed. */
export const limitReached = (detail: string) => new DomainError(429, 'limit_reached', detail)
/** One resource would outgrow its bound (a buffer's entries or bytes). */
export const tooLarge = (detail: string) => new DomainError(413, 'too_large', detail)
export const shuttingDown = () => new DomainError(503, 'shutting_down', 'the service is shutting down; retry against its successor')
export const storeUnavailable = (detail: string) => new DomainError(503, 'store_unavailable', detail)
