/**
 * Every problem `code` the service answers, explained. A problem's `type` is `/problems/<code>`: a relative
 * URI (RFC 9457 §3.1.1), so it resolves against wherever the service is reached, and GET on it serves the
 * explanation (src/routes/problems.ts). test/http-conventions.test.ts finds every code in src/ and fails on
 * one missing here.
 */
export const PROBLEM_TYPES: Record<string, { status: number, title: string, explanation: string }> = {
  bad_request: { status: 400, title: 'Bad request', explanation: 'The request could not be read as HTTP the service understands; `detail` says what was wrong.' },
  bad_url: { status: 400, title: 'Malformed URL', explanation: 'The URL could not be decoded (for example a broken percent-encoding).' },
  body_too_large: { status: 413, title: 'Body too large', explanation: 'The body is larger than BODY_LIMIT (1 MiB unless configured otherwise).' },
  buffer_closing: { status: 409, title: 'Buffer closing', explanation: 'The buffer is being committed or discarded by another request; it cannot take entries any more.' },
  exists: { status: 409, title: 'Already exists', explanation: 'A buffer of that name is open, or its file is still on the volume.' },
  forbidden: { status: 403, title: 'Forbidden', explanation: 'The token is valid but its scope does not allow this: `read` < `write` < `admin`.' },
  illegal_transition: { status: 409, title: 'Illegal transition', explanation: 'A finished workspace cannot go back to `running` in the same run; report a higher `runs` to resume.' },
  internal: { status: 500, title: 'Internal error', explanation: 'The service failed; nothing about the failure is in the answer, the log has it under this request id.' },
  invalid_config: { status: 400, title: 'Invalid configuration', explanation: 'The pool configuration was refused; `errors` names each bad key. The configuration in force did not change.' },
  invalid_content_length: { status: 400, title: 'Invalid Content-Length', explanation: 'The Content-Length header does not match the body.' },
  invalid_cursor: { status: 400, title: 'Invalid cursor', explanation: 'The cursor is not one this service handed out; start again from the first page.' },
  invalid_json: { status: 400, title: 'Invalid JSON', explanation: 'The body is not JSON, or has a key twice in one object, nests too deep, or uses `__proto__`.' },
  invalid_name: { status: 400, title: 'Invalid name', explanation: 'A workspace segment must match `^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$` (a buffer name allows 128 characters); names become paths on the volume.' },
  method_not_allowed: { status: 405, title: 'Method not allowed', explanation: 'The path exists but does not answer this method; the `Allow` header lists the ones it does.' },
  not_found: { status: 404, title: 'Not found', explanation: 'No such resource, or no route with this path.' },
  not_running: { status: 409, title: 'Not running', explanation: 'A heartbeat for a workspace that no longer runs: it finished, or the reaper failed it (see its `reaped`).' },
  precondition_failed: { status: 412, title: 'Precondition failed', explanation: 'The `If-Match` tag is not the stored one: the resource changed since it was read.' },
  stale_run: { status: 409, title: 'Stale run', explanation: 'The report comes from an earlier run than the stored one, or from a run that was reaped; a higher `runs` starts a new run.' },
  store_unavailable: { status: 503, title: 'Store unavailable', explanation: 'The store cannot take writes right now; nothing was changed. Try again after `Retry-After` seconds.' },
  unauthorized: { status: 401, title: 'Unauthorized', explanation: 'No bearer token, or one the service does not know.' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', explanation: 'Bodies are JSON: send `Content-Type: application/json`.' },
  upstream_not_configured: { status: 409, title: 'No upstream', explanation: 'SYNC_URL is not set, so there is nothing to flush to; items wait in the queue.' },
  validation_failed: { status: 400, title: 'Validation failed', explanation: 'The body, query or a header does not match the schema; `errors` lists each bad field.' }
}

export const problemType = (code: string): string => `/problems/${code}`
