/** Reads every `workspace/{org}/{repo}/{leaf}/status.json` on the volume into records (API §8.1). */
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import Compile from 'typebox/compile'
import { StatusFileSchema, type StatusFile, type Workspace } from './model.js'
import { isSegment } from './model.js'
import { workspaceRoot } from './paths.js'
import type { InvalidFile } from '../startup/report.js'
import { poolOf } from './workspaces.js'
import { toIso } from '../core/time.js'
import { readVolumeFile, UnusableFileError, VOLUME_FILE_MAX_BYTES } from '../core/volume-file.js'
import { folderState } from '../core/volume-folder.js'

const StatusFileCheck = Compile(StatusFileSchema)

const iso = toIso
// Go writes `pid: 0` and empty strings for "none"; a record holds absent fields instead.
const text = (s: string | undefined): string | undefined => s === undefined || s === '' ? undefined : s

function toRecord (org: string, repo: string, leaf: string, f: StatusFile, claimed: string | undefined, now: string): Workspace {
  // A date later than start-up's clock is not taken as the record's: it would hold off the lease for as long.
  const updated = claimed === undefined || claimed > now ? now : claimed
  return {
    name: `${org}/${repo}/${leaf}`,
    org,
    repo,
    leaf,
    status: f.status,
    agent: f.agent,
    pool: poolOf(f.agent),
    runs: f.runs ?? 0,
    task: f.task ?? '',
    branch: text(f.branch),
    issue: f.issue === 0 ? undefined : f.issue,
    pid: f.pid === 0 ? undefined : f.pid,
    pid_started_at: iso(f.pid_started_at),
    host: text(f.host),
    process_id: text(f.process_id),
    question: text(f.question),
    priority: f.priority ?? 0,
    pr_url: text(f.pr_url),
    note: text(f.note),
    runtime: text(f.runtime),
    started_at: iso(f.started_at) ?? updated,
    queued_at: f.status === 'queued' ? (iso(f.queued_at) ?? updated) : undefined,
    updated_at: updated,
    heartbeat_at: f.status === 'running' ? iso(f.heartbeat_at) : undefined,
    reaped: f.reaped === undefined ? undefined : { ...f.reaped, at: toIso(f.reaped.at) }
  }
}

function subdirs (dir: string): string[] {
  try {
    const entries = readdirSync(dir, { withFileTypes: true })
    // Only real directories with valid names: a symlink or an odd name is never followed.
    return entries.filter((e) => e.isDirectory() && isSegment(e.name)).map((e) => e.name)
  } catch {
    return []
  }
}

/**
 * Every workspace folder on the volume: real directories with valid names three levels under the root,
 * nothing else followed. Synchronous: a readdir per org and repo, not per workspace.
 */
export function workspaceFolders (dataDir: string): Array<{ name: string, org: string, repo: string, leaf: string }> {
  const root = workspaceRoot(dataDir)
  const folders: Array<{ name: string, org: string, repo: string, leaf: string }> = []
  // A workspace/ that is a link is never entered (core/volume-folder.ts); start-up warns about it.
  if (folderState(root) !== 'folder') return folders
  for (const org of subdirs(root)) {
    for (const repo of subdirs(join(root, org))) {
      for (const leaf of subdirs(join(root, org, repo))) folders.push({ name: `${org}/${repo}/${leaf}`, org, repo, leaf })
    }
  }
  return folders
}

/** A valid status.json as a record, with what start-up needs to judge it against the store (hydrate.ts). */
export interface ScannedFile {
  record: Workspace
  /** Its path under the data folder: the file's name in the log. */
  path: string
  /** The file's own `updated_at`, canonical; undefined when it has none (the record's time is then start-up's). */
  claimed: string | undefined
}

export interface ScanResult {
  /** The name of every workspace folder found, with a status.json or not. */
  folders: string[]
  files: ScannedFile[]
  /** Every name with a status.json on the volume, valid or not: the names a file could ever speak for. */
  present: Set<string>
  invalid: InvalidFile[]
}

/**
 * Every valid status.json as a record; unreadable or invalid files are reported, never fatal. Read
 * synchronously, as readVolumeFile explains: the scan runs once, before the service listens.
 */
export function scanStatusFiles (dataDir: string, now: string): ScanResult {
  const root = workspaceRoot(dataDir)
  const files: ScannedFile[] = []
  const present = new Set<string>()
  const invalid: InvalidFile[] = []
  const read = (org: string, repo: string, leaf: string): void => {
    const path = join(root, org, repo, leaf, 'status.json')
    const rel = relative(dataDir, path)
    let raw: string
    try {
      raw = readVolumeFile(root, path, VOLUME_FILE_MAX_BYTES)
    } catch (err) {
      if (!(err instanceof UnusableFileError)) throw err
      if (err.code === 'missing') return
      present.add(`${org}/${repo}/${leaf}`)
      invalid.push({ path: rel, error: err.message })
      return
    }
    present.add(`${org}/${repo}/${leaf}`)
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      invalid.push({ path: rel, error: 'not valid JSON' })
      return
    }
    if (!StatusFileCheck.Check(parsed)) {
      const first = [...StatusFileCheck.Errors(parsed)][0]
      invalid.push({ path: rel, error: `invalid: ${first?.instancePath || '/'} ${first?.message ?? ''}`.trim() })
      return
    }
    const claimed = iso(parsed.updated_at)
    files.push({ record: toRecord(org, repo, leaf, parsed, claimed, now), path: rel, claimed })
  }
  const folders = workspaceFolders(dataDir)
  for (const { org, repo, leaf } of folders) read(org, repo, leaf)
  return { folders: folders.map((f) => f.name), files, present, invalid }
}
