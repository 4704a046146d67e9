/** Is a local agent process still the one that reported? Signal 0 for existence, /proc for its start time. */
import { readFileSync } from 'node:fs'

export type PidVerdict =
  | { alive: true }
  | { alive: false, reason: 'pid_dead' | 'pid_reused', evidence: string }

// Linux reports a process's start in clock ticks since boot; USER_HZ is 100 on every mainstream kernel.
const TICKS_PER_S = 100
// The start time is known to a tick and boot time to a second: allow for both, plus a report rounded to the second.
const START_TOLERANCE_MS = 2000

function bootTimeMs (): number | null {
  try {
    const line = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))
    return line === null ? null : Number(line[1]) * 1000
  } catch {
    return null
  }
}

/**
 * The fields of `/proc/<pid>/stat` from the third on (state, ppid, pgrp, …, so field n is at n − 3), or null
 * where there is no such process or no /proc.
 */
export function procStat (pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 2 (comm) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

/** The wall-clock start of `pid` from /proc, or null where /proc is not available. */
export function processStartMs (pid: number): number | null {
  const boot = bootTimeMs()
  const fields = boot === null ? null : procStat(pid)
  if (boot === null || fields === null) return null
  // Field 22, starttime.
  return boot + Number(fields[19]) * 1000 / TICKS_PER_S
}

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
