/** What every command shares: connection options, argument parsing, exit codes, errors and how answers are printed. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { createAgentStateClient, isProblem, problemLine, type AgentStateClient, type Problem } from '../client/index.js'
import { fieldRows, renderTables } from '../shared/text-table.js'

/** Exit codes scripts can rely on. `run` exits with its child's status once the child has started. */
export const EXIT = {
  ok: 0,
  /** The service answered with an error (printed as one problem line). */
  problem: 1,
  /** The command line was wrong. */
  usage: 2,
  /** The service could not be reached. */
  unreachable: 3,
  /** `run --claim`: nothing was admissible within `--wait`. */
  nothing_to_claim: 4
} as const

export class UsageError extends Error {}

export class ProblemError extends Error {
  readonly problem: Problem
  constructor (problem: Problem) {
    super(problemLine(problem))
    this.problem = problem
  }
}

export class UnreachableError extends Error {}

/** Options every command takes. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies ParseArgsConfig['options']

export const CONNECTION_HELP = `Options for every command:
  --url <url>      the service (default: $AGENT_STATE_URL, else http://127.0.0.1:3000)
  --token <token>  bearer token (default: $AGENT_STATE_TOKEN)
  --json           JSON for scripts instead of a table
  -h, --help       this help

Exit codes: 0 ok, 1 the service answered an error, 2 usage, 3 the service is unreachable,
4 nothing to claim (run --claim); run exits with its command's status once that has started.`

export interface Connection {
  url: string
  /** The bearer token, for what the typed client does not cover (the MCP bridge). */
  token: string | undefined
  client: AgentStateClient
  json: boolean
}

/** `parseArgs` with the connection options, strict, and its errors as usage errors. */
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[], options: typeof CONNECTION_OPTIONS & O, allowPositionals: true, strict: true }>>
type Options = NonNullable<ParseArgsConfig['options']>

export function parse<O extends Options> (args: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args, options: { ...CONNECTION_OPTIONS, ...options }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export function connect (values: { url?: string, token?: string, json?: boolean }, env: NodeJS.ProcessEnv = process.env): Connection {
  const url = values.url ?? env.AGENT_STATE_URL ?? 'http://127.0.0.1:3000'
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`not an http(s) URL: ${url}`)
  const token = values.token ?? env.AGENT_STATE_TOKEN
  return { url, token, client: createAgentStateClient({ url, token }), json: values.json === true }
}

interface Answer { data?: unknown, error?: unknown, response: Response }

/** Why a request never got an answer, from fetch's error (its cause holds the system error). */
export function networkReason (err: unknown): string {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  return cause?.code ?? cause?.message ?? (err as Error).message
}

/** Awaits a client call: the answer when it is a success, else a ProblemError (any answer) or UnreachableError (none). */
export async function ok<R extends Answer> (request: Promise<R>, url: string): Promise<R> {
  let answer: R
  try {
    answer = await request
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new UnreachableError(`cannot reach ${url}: ${networkReason(err)}`)
  }
  if (answer.response.ok) return answer
  const { status, statusText } = answer.response
  throw new ProblemError(isProblem(answer.error)
    ? answer.error
    : { type: 'about:blank', title: statusText, status, code: 'http_error', detail: `HTTP ${status} ${statusText}` })
}

/** Prints a JSON answer for scripts, or the text the service (or `table`) made for a person. */
export function print (conn: Connection, data: unknown, table: () => string): void {
  process.stdout.write(conn.json ? JSON.stringify(data, null, 2) + '\n' : table())
}

/** One JSON object as a two-column table. */
export function fieldsTable (fields: object | undefined): string {
  return renderTables([fieldRows(fields)])
}

export { renderTables }
