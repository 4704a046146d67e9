/**
 * The data folder's own folders, `workspace/` and `backups/`, are used only as real folders. A symbolic
 * link in their place could lead anywhere (out of the volume, into another service's files): it is never
 * followed, whatever it points at, just as a workspace folder that is a link is never entered. The folder
 * then counts as absent, and start-up says so (report.ts `warnings`), because a link put there on
 * purpose would otherwise be silently ignored.
 */
import { lstatSync } from 'node:fs'
import { join } from 'node:path'

/** `folder`: a real directory; `absent`: nothing there; `refused`: a symbolic link, a file or anything else. */
export type FolderState = 'folder' | 'absent' | 'refused'

export function folderState (path: string): FolderState {
  try {
    return lstatSync(path).isDirectory() ? 'folder' : 'refused'
  } catch {
    return 'absent'
  }
}

const INSTEAD = {
  workspace: 'no status.json under it is read or written',
  backups: 'backups are neither listed nor taken there, and RESTORE_FROM cannot use it'
}

/** The start-up warnings for the data folder's own folders: one per folder that is refused. */
export function volumeWarnings (dataDir: string): string[] {
  return (['workspace', 'backups'] as const)
    .filter((name) => folderState(join(dataDir, name)) === 'refused')
    .map((name) => `${name}/ in the data folder is a symbolic link or not a folder: it is never followed, so ${INSTEAD[name]}. Make it a real folder (a mount, not a link) to use it`)
}
