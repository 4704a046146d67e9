/**
 * Starting from a backup (RESTORE_FROM=<name>): when the volume has no store yet, the backup's file is
 * copied beside the store, verified (restore-check.ts) and only then moved into place. An existing store
 * is never overwritten, and a file that is not a usable backup never becomes one.
 */
import { copyFile, lstat, mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { storeFile } from '../core/paths.js'
import { folderState } from '../core/volume-folder.js'
import { listSegments, logDir } from '../log/segments.js'
import { backupFile, backupsDir } from './backups.js'
import { UnusableBackupError, verifyBackup, type VerifiedBackup } from './restore-check.js'

/** Raised when the restore cannot be done; the message says what to change. */
export class RestoreError extends Error {}

const present = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false)

/** Copies backup `name` into place as the store once the copy is verified; returns the file it came from and what it holds. */
export async function restoreBackup (dataDir: string, name: string): Promise<{ source: string } & VerifiedBackup> {
  const store = storeFile(dataDir)
  // The change log belongs to the store it was written for: replayed over a backup it would mix two stores.
  if (await present(store) || await present(store + '.wal') || listSegments(logDir(dataDir)).length > 0) {
    throw new RestoreError(`RESTORE_FROM=${name}: a store already exists at ${store} (or its change log in ${logDir(dataDir)}); it is never overwritten. Move it away to restore, or unset RESTORE_FROM`)
  }
  const source = backupFile(dataDir, name)
  // Never through a link: the backup must be the one in this data folder (core/volume-folder.ts).
  for (const folder of [backupsDir(dataDir), dirname(source)]) {
    if (folderState(folder) === 'refused') throw new RestoreError(`RESTORE_FROM=${name}: ${folder} is a symbolic link or not a folder; a backup is never read through a link`)
  }
  const stat = await lstat(source).catch(() => null)
  if (stat === null || !stat.isFile()) throw new RestoreError(`RESTORE_FROM=${name}: there is no backup file at ${source}`)
  await mkdir(dirname(store), { recursive: true })
  // Copied beside the store and renamed, so a crash mid-copy never leaves a partial store to open. The copy
  // is what is verified: it is exactly what becomes the store, even if the backup changes meanwhile.
  const partial = store + '.restoring'
  try {
    await copyFile(source, partial)
    const verified = await verifyBackup(partial)
    const handle = await open(partial, 'r')
    try { await handle.sync() } finally { await handle.close() }
    await rename(partial, store)
    return { source, ...verified }
  } catch (err) {
    await rm(partial, { force: true })
    if (err instanceof UnusableBackupError) throw new RestoreError(`RESTORE_FROM=${name}: ${source} is not a usable backup, so the service did not start from it: ${err.message}`)
    throw err
  }
}
