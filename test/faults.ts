/** Helpers of the fault suite: a small disk of its own, and a client over real HTTP. */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, rmdirSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { RunAs } from './child.js'

/**
 * Mounts a tmpfs of `sizeMb` for the test (unmounted at teardown); returns its path, or the reason it
 * cannot (not root, no mount) so the caller skips with that reason printed.
 */
export function smallDisk (t: Test, sizeMb: number): { dir: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'the disk-full case mounts a tmpfs and needs root' }
  // Outside tap's fixture folder, which tap would try to remove while it is still a mount point.
  const dir = mkdtempSync(join(tmpdir(), 'agent-state-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (err) {
    rmdirSync(dir)
    return { skip: `cannot mount a tmpfs: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}` }
  }
  t.teardown(() => {
    // Lazy: a killed service may still hold a file for a moment.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
    rmdirSync(dir)
  })
  return { dir }
}

/** Writes a filler file until the disk is full; returns its path (delete it to free the space). */
export function fillDisk (dir: string): string {
  const path = join(dir, 'filler')
  mkdirSync(dir, { recursive: true })
  const fd = openSync(path, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) writeSync(fd, chunk)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
    // Fill the last partial chunk too, byte by byte in halves, so not even a page is left.
    for (let size = chunk.length / 2; size >= 1; size = Math.floor(size / 2)) {
      try { for (;;) writeSync(fd, chunk, 0, size) } catch {}
    }
  } finally {
    closeSync(fd)
  }
  return path
}

/**
 * The user the service runs as in the permission cases: `nobody`, another user than the agents' (root
 * here), so a folder an agent made is one the service can read but not write, as in the realistic
 * deployment (`could not rewrite status.json EACCES`). Only root can start a process as another user.
 */
export function serviceUser (): { runAs: RunAs } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'running the service as another user than the agents needs root' }
  return { runAs: { uid: 65534, gid: 65534 } }
}

/** A data folder `user` owns, as the service's own volume is. */
export function dataDirOf (t: Test, user: RunAs): string {
  const dir = t.testdir()
  chownSync(dir, user.uid, user.gid)
  return dir
}

/**
 * A workspace folder (with its parents): `user`'s (the service's, so it writes status.json there), or,
 * with null, root's with mode 0755: an agent's folder the service can read and not write.
 */
export function workspaceFolder (dataDir: string, name: string, user: RunAs | null): string {
  const dir = join(dataDir, 'workspace', ...name.split('/'))
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  if (user === null) chownSync(dir, 0, 0)
  else chownSync(dir, user.uid, user.gid)
  chmodSync(dir, 0o755)
  return dir
}

export interface Answer {
  status: number
  headers: Headers
  body: unknown
}

/** One request over real HTTP with a JSON body; a refused connection is status 0. */
export async function call (url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  try {
    const res = await fetch(url + path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.status, headers: res.headers, body: parsed }
  } catch {
    return { status: 0, headers: new Headers(), body: null }
  }
}
