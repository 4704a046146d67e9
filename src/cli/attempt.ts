/** One request of the runner, sorted into what to do next: use the answer, give up on a refusal, or retry. */
import { isProblem, problemLine, type Problem } from '../client/index.js'
import { networkReason } from './common.js'

export type Outcome<D> =
  | { kind: 'ok', data: D, response: Response }
  | { kind: 'refused', problem: Problem }
  | { kind: 'transient', reason: string }

// Worth retrying: the service is restarting, degraded (503), overloaded or slow; anything else 4xx is final.
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])

/** A bound on one request, so a hung service (stopped, or a dead connection) counts as a failure to retry. */
export const REQUEST_TIMEOUT_MS = 10_000

export async function attempt<D> (request: Promise<{ data?: D, error?: unknown, response: Response }>): Promise<Outcome<D>> {
  let answer: { data?: D, error?: unknown, response: Response }
  try {
    answer = await request
  } catch (err) {
    return { kind: 'transient', reason: (err as Error).name === 'TimeoutError' ? 'timed out' : networkReason(err) }
  }
  const { response } = answer
  if (response.ok) return { kind: 'ok', data: answer.data as D, response }
  const problem: Problem = isProblem(answer.error)
    ? answer.error
    : { type: 'about:blank', title: response.statusText, status: response.status, code: 'http_error', detail: `HTTP ${response.status}` }
  if (TRANSIENT_STATUS.has(response.status)) return { kind: 'transient', reason: problemLine(problem) }
  return { kind: 'refused', problem }
}
