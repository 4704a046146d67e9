/**
 * A process's start time from /proc, read the same way by the reaper (is the PID still the agent that
 * reported?) and by `agent-state run` (which reports it), so the two can never disagree.
 */
import { readFileSync } from 'node:fs'

// Linux reports a process's start in clock ticks since boot; USER_HZ is 100 on every mainstream kernel.
const TICKS_PER_S = 100

function bootTimeMs (): number | null {
  try {
    const line = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))
    return line === null ? null : Number(line[1]) * 1000
  } catch {
    return null
  }
}

/** The wall-clock start of `pid` from /proc, or null where /proc is not available. */
export function processStartMs (pid: number): number | null {
  const boot = bootTimeMs()
  if (boot === null) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 2 (comm) may hold spaces and parentheses: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return boot + Number(fields[19]) * 1000 / TICKS_PER_S
  } catch {
    return null
  }
}
