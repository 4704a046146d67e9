/** The error catalogue: every problem `code` the service answers with, once, with its HTTP status and title (API §1). */
export interface FieldError {
  field: string
  message: string
}

const BAD_REQUEST = { status: 400, title: 'Bad Request' } as const
const CONFLICT = { status: 409, title: 'Conflict' } as const

export const PROBLEMS = {
  validation_failed: BAD_REQUEST,
  /** `since` and `until` are not times, or not in order. */
  invalid_range: BAD_REQUEST,
  invalid_name: BAD_REQUEST,
  invalid_json: BAD_REQUEST,
  invalid_cursor: BAD_REQUEST,
  invalid_config: BAD_REQUEST,
  invalid_content_length: BAD_REQUEST,
  bad_url: BAD_REQUEST,
  /** Any other request Fastify refuses before a route sees it. */
  bad_request: BAD_REQUEST,
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not Found' },
  method_not_allowed: { status: 405, title: 'Method Not Allowed' },
  stale_run: CONFLICT,
  illegal_transition: CONFLICT,
  not_running: CONFLICT,
  exists: CONFLICT,
  buffer_closing: CONFLICT,
  upstream_not_configured: CONFLICT,
  backup_in_progress: CONFLICT,
  backups_folder_invalid: CONFLICT,
  precondition_failed: { status: 412, title: 'Precondition Failed' },
  body_too_large: { status: 413, title: 'Content Too Large' },
  /** One resource would outgrow its bound (a buffer's entries or bytes). */
  too_large: { status: 413, title: 'Content Too Large' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type' },
  /** A bound on what clients may create is reached (open buffers, the outbox, event streams): retry once some is freed. */
  limit_reached: { status: 429, title: 'Too Many Requests' },
  internal: { status: 500, title: 'Internal Server Error' },
  /** The store refused the change for a value it cannot hold: a gap in validation, never stored, not worth a retry. */
  write_refused: { status: 500, title: 'Internal Server Error' },
  store_unavailable: { status: 503, title: 'Service Unavailable' },
  shutting_down: { status: 503, title: 'Service Unavailable' },
  /** CLAIM_WAITERS_MAX claims are already waiting (long poll). */
  too_many_waiters: { status: 503, title: 'Service Unavailable' },
  /** Stats, exports and backups run one at a time; too many are waiting. */
  analytics_busy: { status: 503, title: 'Service Unavailable' },
  ui_not_built: { status: 503, title: 'Service Unavailable' }
} as const satisfies Record<string, { status: number, title: string }>

export type ProblemCode = keyof typeof PROBLEMS

/** A refusal a route answers as problem+json: the code says the status; `errors` names each bad field. */
export class DomainError extends Error {
  readonly code: ProblemCode
  readonly status: number
  readonly errors: FieldError[] | undefined

  constructor (code: ProblemCode, message: string, errors?: FieldError[]) {
    super(message)
    this.code = code
    this.status = PROBLEMS[code].status
    this.errors = errors
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`)
export const staleRun = (detail: string) => new DomainError('stale_run', detail)
export const illegalTransition = (detail: string) => new DomainError('illegal_transition', detail)
export const preconditionFailed = (detail: string) => new DomainError('precondition_failed', detail)
export const exists = (detail: string) => new DomainError('exists', detail)
export const invalidName = (detail: string) => new DomainError('invalid_name', detail)
export const storeUnavailable = (detail: string) => new DomainError('store_unavailable', detail)
export const writeRefused = (detail: string) => new DomainError('write_refused', detail)
export const limitReached = (detail: string) => new DomainError('limit_reached', detail)
export const tooLarge = (detail: string) => new DomainError('too_large', detail)
export const shuttingDown = () => new DomainError('shutting_down', 'the service is shutting down; retry against its successor')
