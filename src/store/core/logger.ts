/** The slice of a pino logger the store uses, so the store never depends on the HTTP framework. */
type LogFn = (fields: object, message: string) => void

export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}
