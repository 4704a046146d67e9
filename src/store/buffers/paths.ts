/** go-store's buffer folder: one DuckDB file per open QA buffer, `quarantine/` for unreadable leftovers. */
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
