/**
 * Reads a file on the volume as input from others (API §8.1): only a regular file, of bounded size,
 * never through a link that leads out of its root, and never blocking. Opening with O_NONBLOCK means a
 * FIFO or a device answers at once (and is then refused by its type) instead of holding a thread of the
 * pool forever; the size is checked on the open descriptor, so a file swapped in between cannot slip by.
 */
import { constants } from 'node:fs'
import { lstat, open, realpath } from 'node:fs/promises'
import { relative, isAbsolute } from 'node:path'

/** The bound on a status.json or agents.yaml: the size of the largest request body a record can come from. */
export const VOLUME_FILE_MAX_BYTES = 1024 * 1024

/** Why a file on the volume was not read; `code` is stable, the message is for the log and the start-up report. */
export class UnusableFileError extends Error {
  readonly code: 'missing' | 'not_regular' | 'too_large' | 'link_outside' | 'unreadable'

  constructor (code: UnusableFileError['code'], message: string) {
    super(message)
    this.code = code
  }
}

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

/**
 * The text of `path`, which must lie under `root`. A symbolic link is followed only when it resolves
 * inside `root` (a mounted ConfigMap is a link to a sibling folder); anything else is refused.
 */
export async function readVolumeFile (root: string, path: string, maxBytes: number): Promise<string> {
  let target = path
  try {
    if ((await lstat(path)).isSymbolicLink()) {
      const [real, realRoot] = await Promise.all([realpath(path), realpath(root)])
      if (!inside(realRoot, real)) throw new UnusableFileError('link_outside', 'a symbolic link out of the data folder')
      target = real
    }
  } catch (err) {
    if (err instanceof UnusableFileError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw code === 'ENOENT' ? new UnusableFileError('missing', 'no such file') : new UnusableFileError('unreadable', `unreadable: ${code ?? 'error'}`)
  }
  let handle
  try {
    handle = await open(target, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UnusableFileError('missing', 'no such file')
    throw new UnusableFileError(code === 'ELOOP' ? 'link_outside' : 'unreadable', `unreadable: ${code ?? 'error'}`)
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new UnusableFileError('not_regular', 'not a regular file')
    if (stat.size > maxBytes) throw new UnusableFileError('too_large', `larger than ${maxBytes} bytes`)
    // Read at most one byte past the bound: a file that grew since the stat is refused, not read whole.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1)
    let length = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
      if (length === buffer.length) break
    }
    if (length === buffer.length) {
      throw length > maxBytes ? new UnusableFileError('too_large', `larger than ${maxBytes} bytes`) : new UnusableFileError('unreadable', 'changed while being read')
    }
    return buffer.subarray(0, length).toString('utf8')
  } finally {
    await handle.close()
  }
}
