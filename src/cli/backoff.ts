/** Retry timing for the CLI: exponential backoff with jitter, so a fleet of runners does not hammer a restarting service in step. */
import { setTimeout as sleep } from 'node:timers/promises'

const BASE_MS = 250
const CAP_MS = 10_000

/** The wait before retry number `attempt` (0-based), at most `capMs`: half of the exponential step fixed, half random. */
export function backoffMs (attempt: number, capMs = CAP_MS): number {
  const step = Math.min(CAP_MS, capMs, BASE_MS * 2 ** Math.min(attempt, 16))
  return step / 2 + Math.random() * step / 2
}

/** Sleeps `ms`; resolves early (false) when `signal` aborts. */
export async function pause (ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal })
    return true
  } catch {
    return false
  }
}
