/**
 * A process's /proc entry and start time, read the same way by the reaper (is the PID still the agent that
 * reported?) and by `agent-state run` (which reports it and finds what its command left), so they never disagree.
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
