/**
 * What each problem `code` of the catalogue (store/core/errors.ts) means, for a person. A problem's `type` is
 * `/problems/<code>`: a relative URI (RFC 9457 §3.1.1), so it resolves against wherever the service is
 * reached, and GET on it serves this text (src/routes/problems.ts). The type below makes a code without an
 * explanation a compile error.
 */
import type { ProblemCode } from './errors.js'

export const PROBLEM_EXPLANATIONS = {
  analytics_busy: 'Stats, exports and backups run one at a time, and too many are waiting; retry shortly.',
  backup_in_progress: 'A backup is being taken; one runs at a time. Retry when it is done.',
  backups_folder_invalid: '`backups/` under the data folder is not a plain folder (a symlink or a file); no backup is written through it.',
  bad_request: 'The request could not be read as HTTP the service understands; `detail` says what was wrong.',
  bad_url: 'The URL could not be decoded (for example a broken percent-encoding).',
  body_too_large: 'The body is larger than BODY_LIMIT (1 MiB unless configured otherwise).',
  buffer_closing: 'The buffer is being committed or discarded by another request; it cannot take entries any more.',
  exists: 'A buffer of that name is open, or its file is still on the volume.',
  forbidden: 'The token is valid but its scope does not allow this: `read` < `write` < `admin`.',
  illegal_transition: 'A finished workspace cannot go back to `running` in the same run; report a higher `runs` to resume.',
  internal: 'The service failed; nothing about the failure is in the answer, the log has it under this request id.',
  invalid_config: 'The pool configuration was refused; `errors` names each bad key. The configuration in force did not change.',
  invalid_content_length: 'The Content-Length header does not match the body.',
  invalid_cursor: 'The cursor is not one this service handed out; start again from the first page.',
  invalid_json: 'The body is not JSON, or has a key twice in one object, nests too deep, or uses `__proto__`.',
  invalid_name: 'A workspace segment must match `^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$` (a buffer name allows 128 characters); names become paths on the volume.',
  invalid_range: '`since` or `until` is not an RFC 3339 time, or `since` is not before `until`.',
  limit_reached: 'A bound on what clients may create is reached (BUFFERS_MAX_OPEN, SYNC_QUEUE_MAX_ITEMS, SYNC_QUEUE_MAX_BYTES, EVENT_STREAMS_MAX); nothing was changed. Retry once some is freed.',
  method_not_allowed: 'The path exists but does not answer this method; the `Allow` header lists the ones it does.',
  not_found: 'No such resource, or no route with this path.',
  not_running: 'A heartbeat for a workspace that no longer runs: it finished, or the reaper failed it (see its `reaped`).',
  precondition_failed: 'The `If-Match` tag is not the stored one (the resource changed since it was read), or `If-None-Match` holds the stored one (`*`: the resource exists already). Nothing was changed.',
  shutting_down: 'The service is closing; nothing was changed. Retry against the restarted service.',
  stale_run: 'The report comes from an earlier run than the stored one, or from a run that was reaped (only that run\'s own outcome, with `ended_at`, overrules a reap); a higher `runs` starts a new run.',
  store_unavailable: 'The store cannot take writes right now; nothing was changed. Try again after `Retry-After` seconds.',
  too_large: "One resource would outgrow its bound: a buffer's entries (BUFFER_MAX_ENTRIES) or bytes (BUFFER_MAX_BYTES). Nothing was added.",
  too_many_waiters: 'CLAIM_WAITERS_MAX claims are already waiting for work (`wait_s`); retry, or claim without waiting.',
  ui_not_built: "The dashboard's files are missing: run `npm run build` (npm ci does it).",
  unauthorized: 'No bearer token, or one the service does not know.',
  unsupported_media_type: 'Bodies are JSON: send `Content-Type: application/json`.',
  upstream_not_configured: 'SYNC_URL is not set, so there is nothing to flush to; items wait in the queue.',
  validation_failed: 'The body, query or a header does not match the schema; `errors` lists each bad field.',
  write_refused: "The store refused this change for a value it cannot hold; nothing of it was stored, and the log names it. Sending it again fails the same way: it is a gap in the service's validation, worth reporting."
} satisfies Record<ProblemCode, string>

export const problemType = (code: string): string => `/problems/${code}`
