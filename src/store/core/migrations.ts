/** Versioned schema migrations, applied in order at open; each runs in its own transaction. */
import type { Database } from './database.js'

interface Migration {
  version: number
  name: string
  sql: string
}

// The main store mirrors go-store's layout: one key/value table partitioned by group, so a
// whole group-commit batch (registry, queue, snapshots, events, …) is one upsert statement.
// A NULL value is a tombstone: deletes ride in the same statement and are purged later.
const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'entries',
    sql: `CREATE TABLE entries (
      grp VARCHAR NOT NULL,
      key VARCHAR NOT NULL,
      value VARCHAR,
      updated_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (grp, key)
    )`
  }
]

export async function migrate (db: Database): Promise<number[]> {
  await db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
  const done = new Set((await db.rows('SELECT version FROM schema_migrations')).map((r) => Number(r[0])))
  const applied: number[] = []
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue
    await db.transaction(async (run) => {
      await run(m.sql)
      await run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
    })
    applied.push(m.version)
  }
  return applied
}
