/**
 * status.json on the volume: rewritten atomically (temp file, then rename) whenever the workspace folder
 * exists. Which folders exist is learnt from the start-up scan and again at every periodic pass (the
 * service creates none itself), so a write for a workspace without a folder, nearly every write, costs no
 * system call; a folder someone else makes in between is found by the next pass or start-up.
 */
import { randomBytes } from 'node:crypto'
import { lstat, realpath, rename, rm, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import pLimit from 'p-limit'
import { workspaceDir, workspaceRoot } from './paths.js'
import { folderState } from '../core/volume-folder.js'

// Each rewrite holds a descriptor while it writes; a burst of reports must not take the ones the store needs
// (core/descriptors.ts counts these 16 in its headroom).
const WRITES_AT_ONCE = 16

export class StatusFiles {
  readonly #dataDir: string
  // Writes to one file are chained so the last rename always carries the newest record.
  readonly #chains = new Map<string, Promise<void>>()
  readonly #writes = pLimit(WRITES_AT_ONCE)
  // Names of the workspaces whose folder was found on the volume at the last scan.
  #folders = new Set<string>()

  constructor (dataDir: string) {
    this.#dataDir = dataDir
  }

  /** What a scan of the volume found: the names of every workspace folder, replacing what was known. */
  knowFolders (names: Iterable<string>): void {
    this.#folders = new Set(names)
  }

  /** The folder of a workspace if it exists as a real directory inside the workspace root (no symlink escapes). */
  async existingDir (org: string, repo: string, leaf: string): Promise<string | null> {
    const dir = workspaceDir(this.#dataDir, org, repo, leaf)
    // Nothing is written through a workspace/ that is a link (core/volume-folder.ts).
    if (folderState(workspaceRoot(this.#dataDir)) !== 'folder') return null
    try {
      if (!(await lstat(dir)).isDirectory()) return null
      const [real, root] = await Promise.all([realpath(dir), realpath(workspaceRoot(this.#dataDir))])
      return relative(root, real).startsWith('..') ? null : dir
    } catch {
      return null
    }
  }

  /**
   * Rewrites `status.json` with whatever `current()` returns when the write runs; skipped when the folder is
   * not known to exist, or is gone (it is then forgotten until a scan finds it again).
   */
  write (key: string, org: string, repo: string, leaf: string, current: () => object | undefined): Promise<void> {
    if (!this.#folders.has(key)) return Promise.resolve()
    const prev = this.#chains.get(key) ?? Promise.resolve()
    const next = prev.then(() => this.#writes(async () => {
      const record = current()
      if (record === undefined) return
      const dir = await this.existingDir(org, repo, leaf)
      if (dir === null) {
        this.#folders.delete(key)
        return
      }
      const target = join(dir, 'status.json')
      const tmp = join(dir, `.status.json.${randomBytes(6).toString('hex')}.tmp`)
      try {
        await writeFile(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 })
        await rename(tmp, target)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
    }))
    const settled = next.catch(() => {})
    this.#chains.set(key, settled)
    void settled.then(() => { if (this.#chains.get(key) === settled) this.#chains.delete(key) })
    return next
  }
}
