/** Where things live on the volume, and the guard that keeps every name inside its folder. */
import { isAbsolute, join, relative, resolve } from 'node:path'

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
/** A QA buffer name (API §7); it becomes a file name, so it never holds a separator and never starts with a dot. */
export const BUFFER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** True when `name` is a valid path segment per API §2 (so never `.`, `..`, empty, or containing a separator). */
export function isSegment (name: string): boolean {
  return SEGMENT.test(name) && name !== '.' && name !== '..'
}

/** Resolves `parts` under `root` and refuses anything that would land outside it. */
export function inside (root: string, ...parts: string[]): string {
  const path = resolve(root, ...parts)
  const rel = relative(root, path)
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`path escapes ${root}`)
  return path
}

export function storeFile (dataDir: string): string {
  return join(dataDir, '.core', 'db.duckdb')
}

/** go-store's buffer folder: one DuckDB file per open QA buffer, `quarantine/` for unreadable leftovers. */
export function stateDir (dataDir: string): string {
  return join(dataDir, '.core', 'state')
}

/** The file of buffer `name`; throws unless the name is valid and the path stays inside the state folder. */
export function bufferFile (dataDir: string, name: string): string {
  if (!BUFFER_NAME.test(name)) throw new Error('invalid buffer name')
  return inside(stateDir(dataDir), `${name}.duckdb`)
}

export function workspaceRoot (dataDir: string): string {
  return join(dataDir, 'workspace')
}

/** The folder of workspace `org/repo/leaf`; each segment must already be validated. */
export function workspaceDir (dataDir: string, org: string, repo: string, leaf: string): string {
  for (const s of [org, repo, leaf]) if (!isSegment(s)) throw new Error('invalid name segment')
  return inside(workspaceRoot(dataDir), org, repo, leaf)
}
