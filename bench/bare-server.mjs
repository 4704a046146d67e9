// The ceiling: a bare Fastify server with nothing but the validation the service's PUT does.
// POST /bare validates the body with WorkspaceReportSchema under the service's ajv options; GET /bare
// answers a small object. With BARE_ANSWERS (a JSON file of [{ path, contentType, body }]) it also answers
// each of those paths with exactly that body and content type: the service's own answers, captured, so a
// read is compared with a server that sends the same bytes and does nothing else.
// No logger, no auth, no store. Env: PORT (required), HOST (127.0.0.1), BARE_ANSWERS (optional).
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { WorkspaceReportSchema } from '../dist/store/workspaces/model.js'

const app = Fastify({
  logger: false,
  ajv: {
    // The same options as src/boot/app.ts, so validation costs the same as on the service's PUT.
    customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true }
  }
})

app.post('/bare', { schema: { body: WorkspaceReportSchema } }, async () => ({ ok: true }))
app.get('/bare', async () => ({ ok: true, service: 'bare' }))

const answers = process.env.BARE_ANSWERS ? JSON.parse(readFileSync(process.env.BARE_ANSWERS, 'utf8')) : []
for (const { path, contentType, body } of answers) {
  app.get(path, (_request, reply) => { reply.type(contentType).send(body) })
}

const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('bare-server: set PORT\n')
  process.exit(1)
}
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port })

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
