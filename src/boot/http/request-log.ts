/**
 * Request loggers made on first use. Fastify gives every request a child of the app's logger that carries
 * its id, and pino serialises those bindings when the child is made. Access logs are off (agents report
 * every few seconds) and a request logs only when something goes wrong, so nearly every child was made for
 * nothing; this one makes it when a line at an enabled level is written.
 */
import type { FastifyBaseLogger } from 'fastify'

// pino's types, as Fastify's logger interface names them (pino is Fastify's dependency, not ours).
type Bindings = Parameters<FastifyBaseLogger['child']>[0]
type ChildLoggerOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type ParentLogger = FastifyBaseLogger & { isLevelEnabled: (level: string) => boolean }

class RequestLogger {
  readonly #parent: ParentLogger
  readonly #bindings: Bindings
  #child: FastifyBaseLogger | undefined

  constructor (parent: ParentLogger, bindings: Bindings) {
    this.#parent = parent
    this.#bindings = bindings
  }

  get #logger (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings)
    return this.#child
  }

  get level (): string { return this.#child?.level ?? this.#parent.level }
  set level (level: string) { this.#logger.level = level }

  #write (level: Level, args: unknown[]): void {
    if (this.#child === undefined && !this.#parent.isLevelEnabled(level)) return
    (this.#logger[level] as (...a: unknown[]) => void)(...args)
  }

  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
  silent (): void {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger.child(bindings, options)
  }
}

/** Fastify's childLoggerFactory: a per-route level or serializers (none is set today) get an ordinary child. */
export function requestLogger (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options)
  return new RequestLogger(logger as ParentLogger, bindings) as unknown as FastifyBaseLogger
}
