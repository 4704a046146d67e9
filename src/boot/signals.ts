/**
 * SIGINT and SIGTERM ask the service to stop. They come in pairs from a terminal: Ctrl-C sends SIGINT to the whole
 * foreground process group (npm and node alike) and `npm start` forwards its own copy to node a moment later; a
 * SIGTERM to the process group does the same. close-with-grace takes any second signal as "exit now" (exit 1, without
 * the close that flushes and checkpoints the store), so these two are handled here instead: the first starts the
 * graceful close, another within REPEAT_WINDOW_MS is the same request, and one after that forces the exit.
 */

/** The signals handled here; close-with-grace is told to skip them. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** Long enough for npm's forwarded copy of a signal on a loaded machine, short for a person who means "now". */
export const REPEAT_WINDOW_MS = 2000

interface Log {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
}

/** Starts `close` on the first stop signal; exits with 1 on one that comes later than the repeat window. */
export function closeOnStopSignals (close: () => unknown, log: Log, windowMs = REPEAT_WINDOW_MS): void {
  let firstAt: number | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now()
    if (firstAt === undefined) {
      firstAt = now
      log.info({ signal }, `${signal}: stopping`)
      void close()
    } else if (now - firstAt <= windowMs) {
      log.info({ signal }, `${signal} again within ${windowMs} ms: the same stop, still closing`)
    } else {
      log.warn({ signal }, `${signal} again while closing: exiting now, without finishing the close`)
      process.exit(1)
    }
  }
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal)
}
