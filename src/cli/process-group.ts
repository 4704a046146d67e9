/**
 * The process group `agent-state run` starts its command in (the command leads it), so that a signal reaches
 * everything the command started and nothing it started outlives the run: a shell's `sleep`, a trapping
 * shell's background children, a daemon that forgot to exit.
 */
import { readdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { procStat } from '../shared/process-start.js'

// How often an ending group is looked at.
const POLL_MS = 100
// After SIGKILL the kernel needs a moment; past this, what is left is reported rather than waited for.
const KILL_WAIT_MS = 2000

export class ProcessGroup {
  readonly id: number

  /** The group led by `leader`, a process spawned with `detached` (a session and group of its own). */
  constructor (leader: number) {
    this.id = leader
  }

  /** Sends `signal` to every process of the group; false when none is left. */
  signal (signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.id, signal)
      return true
    } catch (err) {
      // EPERM: a member changed its user (a setuid helper); the others still got it.
      return (err as NodeJS.ErrnoException).code === 'EPERM'
    }
  }

  /**
   * How many processes of the group are still running. A member that has exited but not been waited for
   * (a zombie, until init collects it) has ended and is not counted; where /proc is not available, any
   * member counts, zombies included.
   */
  running (): number {
    try {
      process.kill(-this.id, 0)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 0
    }
    let pids: string[]
    try {
      pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
    } catch {
      return 1
    }
    let n = 0
    for (const pid of pids) {
      const fields = procStat(pid)
      // Field 3 is the state, field 5 the process group.
      if (fields !== null && fields[2] === String(this.id) && fields[0] !== 'Z') n++
    }
    return n
  }

  /**
   * Ends whatever is left of the group once its leader has exited: SIGTERM at once, SIGKILL after `graceMs`.
   * Resolves once none runs with 0, or after the SIGKILL's short wait with how many still do (a process stuck
   * in the kernel).
   */
  async end (graceMs: number): Promise<number> {
    if (this.running() === 0) return 0
    this.signal('SIGTERM')
    if (await this.#gone(graceMs)) return 0
    this.signal('SIGKILL')
    await this.#gone(KILL_WAIT_MS)
    return this.running()
  }

  async #gone (withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs
    while (this.running() > 0) {
      if (Date.now() >= deadline) return false
      await sleep(POLL_MS)
    }
    return true
  }
}
