/** Versioned schema migrations, applied in order at open; each runs in its own transaction. */
import { RUN_HISTORY_SQL } from '../history/table.js'
import type { Database } from './database.js'

interface Migration {
  version: number
  name: string
  statements: string[]
}

// The main store mirrors go-store's layout: one key/value space partitioned by group, so a whole
// fold (registry, queue, snapshots, events, …) is one upsert and one delete.
const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'entries',
    statements: [`CREATE TABLE entries (
      grp VARCHAR NOT NULL,
      key VARCHAR NOT NULL,
      value VARCHAR,
      updated_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (grp, key)
    )`]
  },
  {
    // The append log (see fold.ts): version 1's table becomes the snapshot, keeping every row, and
    // `entries` becomes a view of snapshot and log together, so readers keep one name and one meaning.
    version: 2,
    name: 'append log',
    statements: [
      'ALTER TABLE entries RENAME TO entry_snapshot',
      // Tombstones a killed version-1 process left before its purge: the snapshot holds live rows only.
      'DELETE FROM entry_snapshot WHERE value IS NULL',
      `CREATE TABLE entry_log (
        seq BIGINT NOT NULL,
        grp VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        value VARCHAR,
        updated_at TIMESTAMPTZ NOT NULL
      )`,
      // A key the log holds is read from the log (its newest row, which may be a NULL tombstone).
      `CREATE VIEW entries AS
        SELECT grp, key, value, updated_at FROM entry_snapshot s
          WHERE NOT EXISTS (SELECT 1 FROM entry_log l WHERE l.grp = s.grp AND l.key = s.key)
        UNION ALL
        SELECT grp, key, value, updated_at FROM entry_log
          QUALIFY row_number() OVER (PARTITION BY grp, key ORDER BY seq DESC) = 1`
    ]
  },
  {
    // Typed and append-only, unlike `entries`: the analytics scan it by column (history/stats.ts).
    version: 3,
    name: 'run_history',
    statements: [RUN_HISTORY_SQL]
  },
  {
    // The durable point leaves DuckDB for a log of our own (log/, core/fold.ts): what version 3's log
    // table still holds (a killed process never folded it) goes into the snapshot, the newest row of each
    // key winning, and the snapshot becomes `entries` again, a plain table. `log_state` says which of our
    // log's commits DuckDB holds; the fold updates it in the transaction that stores them.
    version: 4,
    name: 'change log',
    statements: [
      `MERGE INTO entry_snapshot AS s
        USING (SELECT grp, key, value, updated_at FROM entry_log QUALIFY row_number() OVER (PARTITION BY grp, key ORDER BY seq DESC) = 1) AS l
        ON s.grp = l.grp AND s.key = l.key
        WHEN MATCHED AND l.value IS NULL THEN DELETE
        WHEN MATCHED THEN UPDATE SET value = l.value, updated_at = l.updated_at
        WHEN NOT MATCHED AND l.value IS NOT NULL THEN INSERT (grp, key, value, updated_at) VALUES (l.grp, l.key, l.value, l.updated_at)`,
      'DROP VIEW entries',
      'DROP TABLE entry_log',
      'ALTER TABLE entry_snapshot RENAME TO entries',
      'CREATE TABLE log_state (folded_commit BIGINT NOT NULL)',
      'INSERT INTO log_state VALUES (0)'
    ]
  }
]

/** The schema version this build migrates a store to. */
export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version))

/** Applies the migrations a store lacks, up to `upTo` (a scratch store checks a backup against that version's schema). */
export async function migrate (db: Database, upTo = LATEST_VERSION): Promise<number[]> {
  await db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
  const done = new Set((await db.rows('SELECT version FROM schema_migrations')).map((r) => Number(r[0])))
  const applied: number[] = []
  for (const m of MIGRATIONS) {
    if (done.has(m.version) || m.version > upTo) continue
    await db.transaction(async (run) => {
      for (const sql of m.statements) await run(sql)
      await run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
    })
    applied.push(m.version)
  }
  return applied
}
