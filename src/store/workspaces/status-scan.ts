/** Reads every `workspace/{org}/{repo}/{leaf}/status.json` on the volume into records (API §8.1). */
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { Type, type Static } from 'typebox'
import Compile from 'typebox/compile'
import { AGENT_PATTERN, StatusSchema, type Workspace } from './model.js'
import { isSegment } from './model.js'
import { workspaceRoot } from './paths.js'
import type { InvalidFile } from '../startup/report.js'
import { poolOf } from './workspaces.js'

// What a status.json must hold to be trusted: the Go agent's WorkspaceStatus, or our own record (a superset).
// Extra fields are allowed: files are written by other programs too.
const Time = Type.String({ format: 'date-time' })
const StatusFileSchema = Type.Object({
  status: StatusSchema,
  agent: Type.String({ pattern: AGENT_PATTERN }),
  runs: Type.Optional(Type.Integer({ minimum: 0 })),
  task: Type.Optional(Type.String()),
  branch: Type.Optional(Type.String()),
  issue: Type.Optional(Type.Integer({ minimum: 0 })),
  pid: Type.Optional(Type.Integer({ minimum: -1 })),
  pid_started_at: Type.Optional(Time),
  host: Type.Optional(Type.String({ minLength: 1 })),
  process_id: Type.Optional(Type.String()),
  question: Type.Optional(Type.String()),
  priority: Type.Optional(Type.Integer()),
  pr_url: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  runtime: Type.Optional(Type.String()),
  started_at: Type.Optional(Time),
  queued_at: Type.Optional(Time),
  updated_at: Type.Optional(Time),
  heartbeat_at: Type.Optional(Time),
  reaped: Type.Optional(Type.Object({
    reason: Type.Enum(['pid_dead', 'pid_reused', 'lease_expired']),
    evidence: Type.String(),
    at: Time
  }))
})
const StatusFile = Compile(StatusFileSchema)
type StatusFileData = Static<typeof StatusFileSchema>

const iso = (t: string | undefined): string | undefined => t === undefined ? undefined : new Date(t).toISOString()
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
    reaped: f.reaped === undefined ? undefined : { ...f.reaped, at: new Date(f.reaped.at).toISOString() }
  }
}

async function subdirs (dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    // Only real directories with valid names: a symlink or an odd name is never followed.
    return entries.filter((e) => e.isDirectory() && isSegment(e.name)).map((e) => e.name)
  } catch {
    return []
  }
}

export interface ScanResult {
  records: Workspace[]
  invalid: InvalidFile[]
}

/** Every valid status.json as a record; unreadable or invalid files are reported, never fatal. */
export async function scanStatusFiles (dataDir: string, now: string): Promise<ScanResult> {
  const root = workspaceRoot(dataDir)
  const leaves: Array<[string, string, string]> = []
  for (const org of await subdirs(root)) {
    for (const repo of await subdirs(join(root, org))) {
      for (const leaf of await subdirs(join(root, org, repo))) leaves.push([org, repo, leaf])
    }
  }
  const records: Workspace[] = []
  const invalid: InvalidFile[] = []
  // Bounded parallel reads: fast on 10,000 files without exhausting file descriptors.
  const BATCH = 256
  for (let i = 0; i < leaves.length; i += BATCH) {
    await Promise.all(leaves.slice(i, i + BATCH).map(async ([org, repo, leaf]) => {
      const path = join(root, org, repo, leaf, 'status.json')
      let raw: string
      try {
        raw = await readFile(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') invalid.push({ path: relative(dataDir, path), error: `unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}` })
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
      records.push(toRecord(org, repo, leaf, parsed, now))
    }))
  }
  return { records, invalid }
}
