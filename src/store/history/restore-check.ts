/**
 * Whether a file is a backup the service can start from, decided before it becomes the store
 * (docs/history.md, "Restore checks before it replaces"). The file is attached read-only to a scratch
 * in-memory instance, so nothing is written to it and no extension is loaded for a file that is not
 * DuckDB. Verified means:
 *
 * 1. DuckDB opens it as a database (a truncated, garbled or empty file, or another format, does not);
 * 2. its `schema_migrations` holds versions 1…v without a gap, v no newer than this build knows;
 * 3. it has the tables and views that migrating an empty store to v creates;
 * 4. every column of every row of every table can be read (DuckDB checks each block's checksum as it
 *    reads it, so a block damaged anywhere in the file fails here, not once the service runs on it).
 */
import { Database } from '../core/database.js'
import { LATEST_VERSION, migrate } from '../core/migrations.js'

/** Why a file is not a usable backup; the message names what is wrong with it. */
export class UnusableBackupError extends Error {}

export interface VerifiedBackup {
  schemaVersion: number
  /** Rows per table, read. */
  rows: Record<string, number>
}

const SCRATCH = { threads: 1, memoryLimit: '128MB', settings: { autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' } }

// Our own scratch database is `memory`; the file is attached beside it.
const ATTACHED = 'backup_file'

/** DuckDB's message without its stack or the file's path: one line for the operator. */
const reason = (err: unknown, file: string): string =>
  (String((err as Error).message ?? err).split('\n')[0] ?? '').replaceAll(file, 'the file')

type Objects = Map<string, string>

async function objects (db: Database, catalog: string): Promise<Objects> {
  const rows = await db.rows(`SELECT table_name, table_type FROM information_schema.tables
    WHERE table_catalog = $1 AND table_schema = 'main' ORDER BY table_name`, [catalog])
  return new Map(rows.map(([name, type]) => [String(name), String(type)]))
}

async function schemaVersion (db: Database, file: string): Promise<number> {
  let versions: number[]
  try {
    versions = (await db.rows(`SELECT version FROM ${ATTACHED}.schema_migrations ORDER BY version`)).map((r) => Number(r[0]))
  } catch (err) {
    const why = reason(err, file)
    throw new UnusableBackupError(/^Catalog Error/.test(why) ? 'it has no schema_migrations table: it is not a store of this service' : `its schema_migrations cannot be read: ${why}`)
  }
  const v = versions.length
  if (v === 0 || versions.some((version, i) => version !== i + 1)) throw new UnusableBackupError(`its schema versions [${versions.join(', ')}] are not 1…n`)
  if (v > LATEST_VERSION) throw new UnusableBackupError(`its schema version ${v} is newer than this build's ${LATEST_VERSION}: start it with the newer agent-state`)
  return v
}

/** Checks the file at `file` as the header describes; throws UnusableBackupError saying why it is not usable. */
export async function verifyBackup (file: string): Promise<VerifiedBackup> {
  const db = await Database.open(':memory:', SCRATCH)
  try {
    try {
      // ATTACH takes no parameters; quotes are doubled, so no file name can end the literal.
      await db.run(`ATTACH '${file.replaceAll("'", "''")}' AS ${ATTACHED} (TYPE DUCKDB, READ_ONLY)`)
    } catch (err) {
      throw new UnusableBackupError(`DuckDB cannot open it: ${reason(err, file)}`)
    }
    const version = await schemaVersion(db, file)
    // What a store of that version holds: an empty one migrated to it, in the scratch database itself.
    await migrate(db, version)
    const [wanted, found] = await Promise.all([objects(db, 'memory'), objects(db, ATTACHED)])
    for (const [name, type] of wanted) {
      if (found.get(name) !== type) throw new UnusableBackupError(`it lacks the ${type === 'VIEW' ? 'view' : 'table'} ${name} of schema version ${version}`)
    }
    const rows: Record<string, number> = {}
    for (const [name, type] of wanted) {
      // Every column of every row: an aggregate over all columns makes DuckDB read (and checksum) each block.
      const sql = type === 'VIEW'
        ? `SELECT count(*) FROM ${ATTACHED}.main.${name}`
        : `SELECT count(*), max(hash(COLUMNS(*))) FROM ${ATTACHED}.main.${name}`
      try {
        rows[name] = Number((await db.rows(sql))[0]?.[0])
      } catch (err) {
        throw new UnusableBackupError(`its ${name} cannot be read: ${reason(err, file)}`)
      }
    }
    return { schemaVersion: version, rows }
  } finally {
    await db.close({ checkpoint: false })
  }
}
