/**
 * Operator commands over the typed client. The list and snapshot reads print the service's own text tables
 * (`?format=text`), so the terminal shows exactly what `curl` would; `--json` prints the JSON answer.
 */
import { EXIT, UsageError, connect, fieldsTable, ok, parse, print, renderTables, type Connection } from './common.js'

export interface Command {
  summary: string
  usage: string
  run: (args: string[]) => Promise<number>
}

const NAME = /^([^/]+)\/([^/]+)\/([^/]+)$/

function workspacePath (name: string): { org: string, repo: string, leaf: string } {
  const m = NAME.exec(name)
  if (m === null) throw new UsageError(`a workspace is named org/repo/leaf, not ${JSON.stringify(name)}`)
  return { org: m[1] as string, repo: m[2] as string, leaf: m[3] as string }
}

function noPositionals (positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0] as string}`)
}

function onePositional (positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}`)
  return positionals[0] as string
}

/** What to ask the service for: its text table, or JSON under --json (the `format` query and openapi-fetch's `parseAs` alike). */
const asked = (conn: Connection) => conn.json ? 'json' as const : 'text' as const

/** Prints an answer asked for as `asked(conn)`: the service's text table, or JSON under --json. */
function printAnswer (data: unknown): number {
  process.stdout.write(typeof data === 'string' ? data : JSON.stringify(data, null, 2) + '\n')
  return EXIT.ok
}

const status: Command = {
  summary: 'counts by status and the most recently blocked',
  usage: 'agent-state status',
  async run (args) {
    const { values, positionals } = parse(args, {})
    noPositionals(positionals)
    const conn = connect(values)
    const { data } = await ok(conn.client.GET('/v1/status', { params: { query: { format: asked(conn) } }, parseAs: asked(conn) }), conn.url)
    return printAnswer(data)
  }
}

const workspaces: Command = {
  summary: 'list workspaces (filters, pages), or show one',
  usage: `agent-state workspaces [--status s] [--pool p] [--agent a] [--org o] [--repo r] [--limit n] [--cursor c]
agent-state workspaces <org/repo/leaf>`,
  async run (args) {
    const { values, positionals } = parse(args, {
      status: { type: 'string' },
      pool: { type: 'string' },
      agent: { type: 'string' },
      org: { type: 'string' },
      repo: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' }
    })
    const conn = connect(values)
    if (positionals.length > 0) {
      const { data } = await ok(conn.client.GET('/v1/workspaces/{org}/{repo}/{leaf}', { params: { path: workspacePath(onePositional(positionals, 'workspace name')) } }), conn.url)
      print(conn, data, () => fieldsTable(data))
      return EXIT.ok
    }
    const { status, pool, agent, org, repo, cursor } = values
    const limit = values.limit === undefined ? undefined : Number(values.limit)
    // The service validates every filter; a bad one comes back as a problem line.
    const query = { status, pool, agent, org, repo, cursor, limit, format: asked(conn) } as Record<string, unknown>
    const { data } = await ok(conn.client.GET('/v1/workspaces', { params: { query }, parseAs: asked(conn) }), conn.url)
    return printAnswer(data)
  }
}

const pools: Command = {
  summary: 'each pool: running, limit, backoff, budget, and whether it can take work',
  usage: 'agent-state pools [pool]',
  async run (args) {
    const { values, positionals } = parse(args, {})
    const conn = connect(values)
    if (positionals.length > 0) {
      const pool = onePositional(positionals, 'pool')
      const { data } = await ok(conn.client.GET('/v1/pools/{pool}', { params: { path: { pool } } }), conn.url)
      print(conn, data, () => fieldsTable(data))
      return EXIT.ok
    }
    const { data } = await ok(conn.client.GET('/v1/pools', { params: { query: { format: asked(conn) } }, parseAs: asked(conn) }), conn.url)
    return printAnswer(data)
  }
}

const queue: Command = {
  summary: 'queued workspaces in drain order, with admission and reasons',
  usage: 'agent-state queue [--limit n] [--cursor c]',
  async run (args) {
    const { values, positionals } = parse(args, { limit: { type: 'string' }, cursor: { type: 'string' } })
    noPositionals(positionals)
    const conn = connect(values)
    const query = { cursor: values.cursor, limit: values.limit === undefined ? undefined : Number(values.limit), format: asked(conn) }
    const { data } = await ok(conn.client.GET('/v1/queue', { params: { query }, parseAs: asked(conn) }), conn.url)
    return printAnswer(data)
  }
}

const backoff: Command = {
  summary: 'set or clear a pool backoff (admin)',
  usage: `agent-state backoff set <pool> (--seconds n | --until <RFC 3339 time>) --reason <text>
agent-state backoff clear <pool>`,
  async run (args) {
    const { values, positionals } = parse(args, { seconds: { type: 'string' }, until: { type: 'string' }, reason: { type: 'string' } })
    const [action, pool, ...rest] = positionals
    noPositionals(rest)
    if (pool === undefined || (action !== 'set' && action !== 'clear')) throw new UsageError('expected: backoff set|clear <pool>')
    const conn = connect(values)
    const path = { params: { path: { pool } } }
    if (action === 'clear') {
      const { data } = await ok(conn.client.DELETE('/v1/pools/{pool}/backoff', path), conn.url)
      print(conn, data, () => fieldsTable(data))
      return EXIT.ok
    }
    if (values.reason === undefined) throw new UsageError('backoff set needs --reason')
    const body = values.seconds !== undefined
      ? { seconds: Number(values.seconds), until: values.until, reason: values.reason }
      : { until: values.until, reason: values.reason }
    const { data } = await ok(conn.client.PUT('/v1/pools/{pool}/backoff', { ...path, body: body as { reason: string } }), conn.url)
    print(conn, data, () => fieldsTable(data))
    return EXIT.ok
  }
}

const sync: Command = {
  summary: 'the sync outbox: status, replay a dead letter, drop one (admin)',
  usage: `agent-state sync status
agent-state sync replay <id>        put a dead letter back at the tail of the queue
agent-state sync drop <id>          drop a dead letter
agent-state sync drop --queued <id> drop an item still queued`,
  async run (args) {
    const { values, positionals } = parse(args, { queued: { type: 'boolean' } })
    const [action, id, ...rest] = positionals
    noPositionals(rest)
    const conn = connect(values)
    if (action === 'status' && id === undefined) {
      const { data } = await ok(conn.client.GET('/v1/sync/status'), conn.url)
      print(conn, data, () => fieldsTable(data))
      return EXIT.ok
    }
    if (id === undefined) throw new UsageError('expected: sync status | sync replay <id> | sync drop <id>')
    const path = { params: { path: { id } } }
    if (action === 'replay') {
      const { data } = await ok(conn.client.POST('/v1/sync/dead/{id}/replay', path), conn.url)
      print(conn, data, () => fieldsTable(data))
      return EXIT.ok
    }
    if (action !== 'drop') throw new UsageError(`unknown sync action: ${String(action)}`)
    await ok(values.queued === true ? conn.client.DELETE('/v1/sync/queue/{id}', path) : conn.client.DELETE('/v1/sync/dead/{id}', path), conn.url)
    print(conn, { dropped: id }, () => `dropped ${id}\n`)
    return EXIT.ok
  }
}

const reap: Command = {
  summary: 'run the ghost reaper now and list what it failed (admin)',
  usage: 'agent-state reap',
  async run (args) {
    const { values, positionals } = parse(args, {})
    noPositionals(positionals)
    const conn = connect(values)
    const { data } = await ok(conn.client.POST('/v1/reap'), conn.url)
    const reaped = data?.reaped ?? []
    print(conn, data, () => renderTables([{ columns: ['NAME', 'REASON', 'EVIDENCE', 'AT'], rows: reaped.map((g) => [g.name, g.reason, g.evidence, g.at]) }]))
    return EXIT.ok
  }
}

export const OPERATOR_COMMANDS: Record<string, Command> = { status, workspaces, pools, queue, backoff, sync, reap }
