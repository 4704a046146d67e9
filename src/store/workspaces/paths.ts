/** Where workspace folders live on the volume: `workspace/{org}/{repo}/{leaf}`, never outside it. */
import { join } from 'node:path'
import { inside } from '../core/paths.js'
import { isSegment } from './model.js'

export function workspaceRoot (dataDir: string): string {
  return join(dataDir, 'workspace')
}

/** The folder of workspace `org/repo/leaf`; each segment must already be validated. */
export function workspaceDir (dataDir: string, org: string, repo: string, leaf: string): string {
  for (const s of [org, repo, leaf]) if (!isSegment(s)) throw new Error('invalid name segment')
  return inside(workspaceRoot(dataDir), org, repo, leaf)
}
