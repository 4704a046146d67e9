// The peer: what a newcomer writes in fifty lines. Fastify with the service's PUT route and body
// schema, and better-sqlite3 (WAL) doing one upsert per request. SYNCHRONOUS is NORMAL (what most
// SQLite services run: a commit is not fsynced, so the last ones may be lost on power failure) or
// FULL (an fsync per commit: as durable as the service). Env: PORT, DB (file path), SYNCHRONOUS.
import Fastify from 'fastify'
import Database from 'better-sqlite3'
import { WorkspaceReportSchema, WorkspaceParamsSchema } from '../dist/store/workspaces/model.js'

const port = Number(process.env.PORT)
const synchronous = process.env.SYNCHRONOUS ?? 'FULL'
if (!Number.isInteger(port) || port <= 0 || !process.env.DB || !['NORMAL', 'FULL'].includes(synchronous)) {
  process.stderr.write('sqlite-server: set PORT, DB and SYNCHRONOUS (NORMAL or FULL)\n')
  process.exit(1)
}

const db = new Database(process.env.DB)
db.pragma('journal_mode = WAL')
db.pragma(`synchronous = ${synchronous}`)
db.exec('CREATE TABLE IF NOT EXISTS workspaces (name TEXT PRIMARY KEY, record TEXT NOT NULL, updated_at TEXT NOT NULL)')
const upsert = db.prepare(`INSERT INTO workspaces (name, record, updated_at) VALUES (?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at`)

const app = Fastify({
  logger: false,
  ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true } }
})

app.put('/v1/workspaces/:org/:repo/:leaf', { schema: { params: WorkspaceParamsSchema, body: WorkspaceReportSchema } }, async (request, reply) => {
  const { org, repo, leaf } = request.params
  const name = `${org}/${repo}/${leaf}`
  const updatedAt = new Date().toISOString()
  const record = { name, org, repo, leaf, ...request.body, updated_at: updatedAt }
  upsert.run(name, JSON.stringify(record), updatedAt)
  return reply.code(201).send(record)
})

app.get('/ready', async () => ({ ok: true }))

await app.listen({ host: '127.0.0.1', port })
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => { app.close().then(() => { db.close(); process.exit(0) }, () => process.exit(1)) })
}
