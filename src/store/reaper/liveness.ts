/** Is a local agent process still the one that reported? Signal 0 for existence, /proc for its start time. */
import { processStartMs } from '../../shared/process-start.js'

// The start time is known to a tick and boot time to a second: allow for both, plus a report rounded to the second.
const START_TOLERANCE_MS = 2000

export type PidVerdict =
  | { alive: true }
  | { alive: false, reason: 'pid_dead' | 'pid_reused', evidence: string }

function exists (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Checks a local PID and, when the agent reported it, the process's start time (a mismatch means the PID was reused). */
export function checkPid (pid: number, startedAt: string | undefined): PidVerdict {
  if (!exists(pid)) return { alive: false, reason: 'pid_dead', evidence: `pid ${pid} is not running` }
  if (startedAt !== undefined) {
    const actual = processStartMs(pid)
    const reported = Date.parse(startedAt)
    if (actual !== null && Math.abs(actual - reported) > START_TOLERANCE_MS) {
      return {
        alive: false,
        reason: 'pid_reused',
        evidence: `pid ${pid} is alive but started at ${new Date(actual).toISOString()}, not ${new Date(reported).toISOString()}`
      }
    }
  }
  return { alive: true }
}
