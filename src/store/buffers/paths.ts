/** go-store's buffer folder: one DuckDB file per open QA buffer, `quarantine/` for unreadable leftovers. */
import type { Dirent } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { inside } from '../core/paths.js'
import { BUFFER_NAME } from './model.js'

export function stateDir (dataDir: string): string {
  return join(dataDir, '.core', 'state')
}

/** The file of buffer `name`; throws unless the name is valid and the path stays inside the state folder. */
export function bufferFile (dataDir: string, name: string): string {
  if (!BUFFER_NAME.test(name)) throw new Error('invalid buffer name')
  return inside(stateDir(dataDir), `${name}.duckdb`)
}

/** The entries of a folder of ours on the volume; none when it does not exist (nothing was ever put there). */
export async function folderEntries (dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}
