/** Where the store lives on the volume, and the guard that keeps every name inside its folder. */
import { isAbsolute, join, relative, resolve } from 'node:path'

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
