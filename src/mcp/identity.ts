/**
 * What the MCP server says about itself, the same from `/mcp` and from the stdio bridge (`agent-state mcp`):
 * the bridge answers the handshake with these before it has reached the service, and forwards the rest.
 */
import { packageInfo } from '../shared/package-info.js'

export const SERVER_INFO = { name: 'agent-state', title: 'agent-state', version: packageInfo.version }

/** Ten tools that never change while the server runs; workspaces as resources a client may subscribe to. */
export const CAPABILITIES = { tools: { listChanged: false }, resources: { subscribe: true, listChanged: false } }

export const INSTRUCTIONS = [
  'agent-state tracks the workspaces a fleet of coding agents works in: who runs what, what is queued, what is blocked and why.',
  'As an agent: take work with claim_work (or know your workspace name `org/repo/leaf` and run number `runs`), keep it alive with heartbeat while you work,',
  'and say how it went with report_workspace (`blocked` with a question, `completed`, `failed`, `ready-for-review` with pr_url).',
  'A `stale_run` or `not_running` error means your run is over (superseded or reaped): stop working on it.',
  'To look around: get_status, list_workspaces, get_workspace, list_pools, list_queue, run_stats.',
  'Each workspace is also the resource agent-state://workspaces/{org}/{repo}/{leaf}; subscribe to hear when it changes.'
].join(' ')
