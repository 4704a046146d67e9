/** `agent-state events`: follows the event stream, and reconnects with `Last-Event-ID` so nothing is missed or repeated. */
import { EventSourceParserStream } from 'eventsource-parser/stream'
import { backoffMs, pause } from './backoff.js'
import { EXIT, ProblemError, UnreachableError, UsageError, connect, ok, parse, type Connection } from './common.js'
import type { Command } from './operator.js'

interface StreamEvent { id: number, type: string, subject: string, at: string, data: unknown }

function line (conn: Connection, e: StreamEvent): string {
  return conn.json ? JSON.stringify(e) : `${e.at}  ${e.type}  ${e.subject}  ${JSON.stringify(e.data)}`
}

/**
 * The stream's position now: the newest stored event's id (0 when there is none). Following from there instead of
 * "from the next change" lets a reconnection replay what happened while the connection was down, even when no event
 * had come through it yet. An event still being committed is not listed, but the stream opened after it replays it.
 */
async function position (conn: Connection): Promise<string> {
  const { data } = await ok(conn.client.GET('/v1/events/log', { params: { query: { limit: 1 } } }), conn.url)
  return String(data?.items[0]?.id ?? 0)
}

/** Reads one connection's events until it ends; returns how many are still wanted. */
async function follow (conn: Connection, query: { type?: string }, after: { id?: string }, left: number): Promise<number> {
  after.id ??= await position(conn)
  const headers = after.id === undefined ? {} : { 'last-event-id': Number(after.id) }
  const { data } = await ok(conn.client.GET('/v1/events', { params: { query, header: headers }, parseAs: 'stream' }), conn.url)
  if (data === undefined || data === null) return left
  const messages = (data as unknown as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
  for await (const message of messages) {
    if (message.id !== undefined) after.id = message.id
    process.stdout.write(line(conn, JSON.parse(message.data) as StreamEvent) + '\n')
    if (--left === 0) return 0
  }
  return left
}

export const events: Command = {
  summary: 'follow the event stream (reconnects with Last-Event-ID)',
  usage: `agent-state events [--type workspace,backoff,…] [--since <event id>] [--count n]
  --since   start after this event id (replays what came after it)
  --count   exit after this many events`,
  async run (args) {
    const { values, positionals } = parse(args, { type: { type: 'string' }, since: { type: 'string' }, count: { type: 'string' } })
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0] as string}`)
    const count = values.count === undefined ? Infinity : Number(values.count)
    if (!(count > 0)) throw new UsageError('--count must be a positive number')
    const conn = connect(values)
    const query = values.type === undefined ? {} : { type: values.type }
    const after: { id?: string } = { id: values.since }
    let left = count
    for (let attempt = 0; left > 0;) {
      const before = after.id
      try {
        left = await follow(conn, query, after, left)
      } catch (err) {
        // A refused request (bad type, token) will not get better by retrying; a dropped connection will.
        if (err instanceof ProblemError) throw err
        if (!(err instanceof UnreachableError) && !(err instanceof TypeError)) throw err
      }
      if (left === 0) break
      attempt = after.id === before ? attempt + 1 : 0
      process.stderr.write(`agent-state: event stream closed; reconnecting after event ${after.id ?? '(none)'}\n`)
      await pause(backoffMs(attempt))
    }
    return EXIT.ok
  }
}
