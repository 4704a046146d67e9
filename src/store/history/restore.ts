/**
 * Starting from a backup (RESTORE_FROM=<name>): when the volume has no store yet, the backup's file is
 * copied into place before the store opens. An existing store is never overwritten.
 */
import { copyFile, lstat, mkdir, open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { storeFile } from '../core/paths.js'
import { listSegments, logDir } from '../log/segments.js'
import { backupFile } from './backups.js'

/** Raised when the restore cannot be done; the message says what to change. */
export class RestoreError extends Error {}

const present = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false)

/** Copies backup `name` into place as the store; returns the file it came from. */
export async function restoreBackup (dataDir: string, name: string): Promise<string> {
  const store = storeFile(dataDir)
  // The change log belongs to the store it was written for: replayed over a backup it would mix two stores.
  if (await present(store) || await present(store + '.wal') || listSegments(logDir(dataDir)).length > 0) {
    throw new RestoreError(`RESTORE_FROM=${name}: a store already exists at ${store} (or its change log in ${logDir(dataDir)}); it is never overwritten. Move it away to restore, or unset RESTORE_FROM`)
  }
  const source = backupFile(dataDir, name)
  const stat = await lstat(source).catch(() => null)
  if (stat === null || !stat.isFile()) throw new RestoreError(`RESTORE_FROM=${name}: there is no backup file at ${source}`)
  await mkdir(dirname(store), { recursive: true })
  // Copied beside the store and renamed, so a crash mid-copy never leaves a partial store to open.
  const partial = store + '.restoring'
  await copyFile(source, partial)
  const handle = await open(partial, 'r')
  try { await handle.sync() } finally { await handle.close() }
  await rename(partial, store)
  return source
}
