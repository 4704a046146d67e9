// The start-up floor: what any Fastify + DuckDB service pays before it can answer. It imports fastify and
// @duckdb/node-api, opens (creating) a DuckDB file, runs one statement, and answers GET /readyz.
// Nothing of the service is loaded. Env: DATA_DIR (required), PORT (required), HOST (127.0.0.1).
import { join } from 'node:path'
import Fastify from 'fastify'
import { DuckDBInstance } from '@duckdb/node-api'

const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0 || !process.env.DATA_DIR) {
  process.stderr.write('floor-server: set DATA_DIR and PORT\n')
  process.exit(1)
}

const instance = await DuckDBInstance.create(join(process.env.DATA_DIR, 'floor.duckdb'))
const conn = await instance.connect()
await conn.run('SELECT 1')

const app = Fastify({ logger: false })
app.get('/readyz', async () => ({ store: 'ok' }))
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port })

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    app.close().then(() => { conn.closeSync(); instance.closeSync(); process.exit(0) }, () => process.exit(1))
  })
}
