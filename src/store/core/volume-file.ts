/**
 * Reads a file on the volume as input from others (API §8.1): only a regular file, of bounded size,
 * never through a link that leads out of its root, and never waiting on it. Opening with O_NONBLOCK
 * means a FIFO or a device answers at once (and is then refused by its type) instead of blocking; the
 * size is checked on the open descriptor, so a file swapped in between cannot slip by. The read is
 * synchronous: start-up reads 10,000 status.json files before it listens, and through the thread pool
 * each cost 5–10 times as much (five round trips of open, stat, read, read and close); a read here is
 * bounded by the size limit and by the one regular file it can be.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
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

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW

/** A failed system call as the reason a file is unusable; ELOOP from an open is a link O_NOFOLLOW refused. */
const unusable = (err: unknown, syscall: 'open' | 'realpath'): UnusableFileError => {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new UnusableFileError('missing', 'no such file')
  return new UnusableFileError(code === 'ELOOP' && syscall === 'open' ? 'link_outside' : 'unreadable', `unreadable: ${code ?? 'error'}`)
}

/** Opens `path` itself, or the file its symbolic link resolves to when that lies inside `root`. */
function openInside (root: string, path: string): number {
  try {
    return openSync(path, FLAGS)
  } catch (err) {
    // O_NOFOLLOW refuses a link with ELOOP: only then is it resolved, so a plain file costs one call.
    if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw unusable(err, 'open')
  }
  let real: string
  try {
    real = realpathSync(path)
    if (!inside(realpathSync(root), real)) throw new UnusableFileError('link_outside', 'a symbolic link out of the data folder')
  } catch (err) {
    throw err instanceof UnusableFileError ? err : unusable(err, 'realpath')
  }
  try {
    return openSync(real, FLAGS)
  } catch (err) {
    throw unusable(err, 'open')
  }
}

/**
 * The text of `path`, which must lie under `root`. A symbolic link is followed only when it resolves
 * inside `root` (a mounted ConfigMap is a link to a sibling folder); anything else is refused.
 */
export function readVolumeFile (root: string, path: string, maxBytes: number): string {
  const fd = openInside(root, path)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new UnusableFileError('not_regular', 'not a regular file')
    if (stat.size > maxBytes) throw new UnusableFileError('too_large', `larger than ${maxBytes} bytes`)
    // Read at most one byte past the bound: a file that grew since the stat is refused, not read whole.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1)
    let length = 0
    for (;;) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
      if (length === buffer.length) break
    }
    if (length === buffer.length) {
      throw length > maxBytes ? new UnusableFileError('too_large', `larger than ${maxBytes} bytes`) : new UnusableFileError('unreadable', 'changed while being read')
    }
    return buffer.subarray(0, length).toString('utf8')
  } finally {
    closeSync(fd)
  }
}
