/** Reads every `workspace/{org}/{repo}/{leaf}/status.json` on the volume into records (API §8.1). */
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { DateTime } from '../core/schema.js'
import { Type, type Static } from 'typebox'
import Compile from 'typebox/compile'
import { AGENT_PATTERN, StatusSchema, type Workspace } from './model.js'
import { isSegment } from './model.js'
import { workspaceRoot } from './paths.js'
import type { InvalidFile } from '../startup/report.js'
import { poolOf } from './workspaces.js'
import { toIso } from '../core/time.js'
import { readVolumeFile, UnusableFileError, VOLUME_FILE_MAX_BYTES } from '../core/volume-file.js'

// What a status.json must hold to be trusted: the Go agent's WorkspaceStatus, or our own record (a superset).
// Extra fields are allowed: files are written by other programs too.
const StatusFileSchema = Type.Object({
  status: StatusSchema,
  agent: Type.String({ pattern: AGENT_PATTERN }),
  runs: Type.Optional(Type.Integer({ minimum: 0 })),
  task: Type.Optional(Type.String()),
  branch: Type.Optional(Type.String()),
  issue: Type.Optional(Type.Integer({ minimum: 0 })),
  pid: Type.Optional(Type.Integer({ minimum: -1 })),
  pid_started_at: Type.Optional(DateTime()),
  host: Type.Optional(Type.String({ minLength: 1 })),
  process_id: Type.Optional(Type.String()),
  question: Type.Optional(Type.String()),
  priority: Type.Optional(Type.Integer()),
  pr_url: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  runtime: Type.Optional(Type.String()),
  started_at: Type.Optional(DateTime()),
  queued_at: Type.Optional(DateTime()),
  updated_at: Type.Optional(DateTime()),
  heartbeat_at: Type.Optional(DateTime()),
  reaped: Type.Optional(Type.Object({
    reason: Type.Enum(['pid_dead', 'pid_reused', 'lease_expired']),
    evidence: Type.String(),
    at: DateTime()
  }))
})
const StatusFile = Compile(StatusFileSchema)
type StatusFileData = Static<typeof StatusFileSchema>

const iso = toIso
// Go writes `pid: 0` and empty strings for "none"; a record holds absent fields instead.
const text = (s: string | undefined): string | undefined => s === undefined || s === '' ? undefined : s

function toRecord (org: string, repo: string, leaf: string, f: StatusFileData, now: string): Workspace {
  const updated = iso(f.updated_at) ?? now
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
 * Every workspace folder on the volume, as [org, repo, leaf]: real directories with valid names three levels
 * under the root, nothing else followed. Synchronous: a readdir per org and repo, not per workspace.
 */
export function workspaceFolders (dataDir: string): Array<{ name: string, org: string, repo: string, leaf: string }> {
  const root = workspaceRoot(dataDir)
  const folders: Array<{ name: string, org: string, repo: string, leaf: string }> = []
  for (const org of subdirs(root)) {
    for (const repo of subdirs(join(root, org))) {
      for (const leaf of subdirs(join(root, org, repo))) folders.push({ name: `${org}/${repo}/${leaf}`, org, repo, leaf })
    }
  }
  return folders
}

export interface ScanResult {
  /** The name of every workspace folder found, with a status.json or not. */
  folders: string[]
  records: Workspace[]
  /** Names whose file has no `updated_at`: its time is then start-up's, which proves nothing about its age. */
  undated: Set<string>
  invalid: InvalidFile[]
}

/**
 * Every valid status.json as a record; unreadable or invalid files are reported, never fatal. Read
 * synchronously, as readVolumeFile explains: the scan runs once, before the service listens.
 */
export function scanStatusFiles (dataDir: string, now: string): ScanResult {
  const root = workspaceRoot(dataDir)
  const records: Workspace[] = []
  const undated = new Set<string>()
  const invalid: InvalidFile[] = []
  const read = (org: string, repo: string, leaf: string): void => {
    const path = join(root, org, repo, leaf, 'status.json')
    let raw: string
    try {
      raw = readVolumeFile(root, path, VOLUME_FILE_MAX_BYTES)
    } catch (err) {
      if (!(err instanceof UnusableFileError)) throw err
      if (err.code !== 'missing') invalid.push({ path: relative(dataDir, path), error: err.message })
      return
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      invalid.push({ path: relative(dataDir, path), error: 'not valid JSON' })
      return
    }
    if (!StatusFile.Check(parsed)) {
      const first = [...StatusFile.Errors(parsed)][0]
      invalid.push({ path: relative(dataDir, path), error: `invalid: ${first?.instancePath || '/'} ${first?.message ?? ''}`.trim() })
      return
    }
    const record = toRecord(org, repo, leaf, parsed, now)
    records.push(record)
    if (parsed.updated_at === undefined) undated.add(record.name)
  }
  const folders = workspaceFolders(dataDir)
  for (const { org, repo, leaf } of folders) read(org, repo, leaf)
  return { folders: folders.map((f) => f.name), records, undated, invalid }
}
