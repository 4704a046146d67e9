/**
 * The one owner of background work. Each kind of work is registered once, with a name, and started in
 * registration order; shutdown stops it in reverse order in two phases: `stop` before the server waits for
 * the requests in flight (end waits and streams, stop timers, so nothing holds the exit), `close` once
 * none is left (drain and release what requests used: buffers, the analytics lane, last of all the store).
 * Periodic work has one timer per kind, and a pass never overlaps the one before it.
 */
import type { Logger } from '../core/logger.js'

export interface Work {
  name: string
  start?: () => void | Promise<void>
  /** Stop taking on work and end every wait; runs while requests may still be in flight. */
  stop?: () => void | Promise<void>
  /** Release what requests used; runs once no request is in flight. */
  close?: () => Promise<void>
}

export class Lifecycle {
  readonly #works: Work[] = []
  readonly #log: Logger
  #started = 0
  #stopped = false

  constructor (log: Logger) {
    this.#log = log
  }

  /** The names of the registered work, in start order. */
  get names (): string[] { return this.#works.map((w) => w.name) }

  /**
   * Registers work last, or just `before` the named work (so it starts before it and stops after it), for
   * work registered outside the composition root that must keep an order with the root's own.
   */
  add (work: Work, { before }: { before?: string } = {}): void {
    if (this.#works.some((w) => w.name === work.name)) throw new Error(`background work ${work.name} is registered twice`)
    if (before === undefined) { this.#works.push(work); return }
    const at = this.#works.findIndex((w) => w.name === before)
    if (at < this.#started) throw new Error(`background work ${work.name} cannot go before ${before}: ${at < 0 ? 'no such work' : 'it has started'}`)
    this.#works.splice(at, 0, work)
  }

  /**
   * Periodic work: `task` every `periodMs` once started, never overlapping itself; its failures are logged and
   * the next pass tries again. The timer does not keep the process alive.
   */
  every (name: string, periodMs: number, task: () => Promise<unknown>): void {
    let timer: NodeJS.Timeout | null = null
    let running: Promise<unknown> | null = null
    const pass = (): void => {
      if (running !== null) return
      running = task()
        .catch((err: unknown) => this.#log.error({ err, work: name }, 'periodic work failed; the next pass tries again'))
        .finally(() => { running = null })
    }
    this.add({
      name,
      start: () => {
        timer = setInterval(pass, periodMs)
        timer.unref()
      },
      stop: async () => {
        if (timer !== null) clearInterval(timer)
        timer = null
        await running
      }
    })
  }

  /** Starts every registered work in order. */
  async start (): Promise<void> {
    for (const work of this.#works.slice(this.#started)) {
      await work.start?.()
      this.#started++
    }
  }

  /** First phase of shutdown: every started work's `stop`, in reverse order of start. Runs once. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    for (const work of this.#works.slice(0, this.#started).reverse()) await work.stop?.()
  }

  /**
   * Second phase: every work's `close`, in reverse order of registration, whether or not it was started (a
   * store opened by a start-up that then failed is closed too). Every close runs; the first failure is rethrown.
   */
  async close (): Promise<void> {
    await this.stop()
    let failure: unknown = null
    for (const work of [...this.#works].reverse()) {
      try {
        await work.close?.()
      } catch (err) {
        failure ??= err
      }
    }
    if (failure !== null) throw failure
  }
}
