/**
 * The start-up steps over the workspaces and pools (API §8), run in order by startup.ts: hydrate from the store,
 * then from the status.json files on the volume, then agents.yaml; and the periodic pass that afterwards reaps,
 * drops expired backoffs and trims the stored event log every REAPER_INTERVAL_S.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import type { State } from './store.js'
import { readAgentsFile } from '../store/pools/agents-config.js'
import type { Database } from '../store/core/database.js'
import type { DomainError } from '../store/core/errors.js'
import { pruneEvents } from '../store/events/event-store.js'
import { applyStatusFiles, hydrateWorkspaces, readEntries } from '../store/workspaces/hydrate.js'
import { scanStatusFiles } from '../store/workspaces/status-scan.js'

/** Workspaces, pools and the event numbering as the store holds them. */
export async function hydrateStore ({ events, workspaces, pools, recovery }: State, db: Database): Promise<void> {
  const { registry, groups, lastEventId } = await readEntries(db)
  events.resume(lastEventId)
  const counts = hydrateWorkspaces(workspaces, registry, groups)
  pools.hydrate(groups)
  recovery.report.hydrated.from_store = counts.registry
  recovery.report.hydrated.from_queue = counts.queueOnly
}

/** What agents wrote to their status.json files while the service was down; answers how many records they changed or added. */
export async function hydrateFiles ({ workspaces, writer, clock, recovery }: State, dataDir: string, log: FastifyBaseLogger): Promise<number> {
  const report = recovery.report
  const at = clock().toISOString()
  const { files, present, invalid } = scanStatusFiles(dataDir, at)
  report.hydrated.files_read = files.length
  report.hydrated.from_files = applyStatusFiles(workspaces, writer, files, present, at)
  report.hydrated.files_invalid = invalid
  for (const f of invalid) log.warn({ file: f.path, error: f.error }, 'skipped an unusable status.json')
  return report.hydrated.from_files
}

/** agents.yaml, when there is one; a bad file keeps the last good configuration (from the store, else none) and says so on /readyz. */
export async function loadConfig ({ pools }: State, dataDir: string, log: FastifyBaseLogger): Promise<void> {
  try {
    const agents = await readAgentsFile(dataDir)
    if (agents !== undefined) pools.applyConfig(agents, 'file', 'agents.yaml')
  } catch (err) {
    pools.config.error = (err as Error).message
    log.error({ error: pools.config.error, errors: (err as DomainError).errors }, 'agents.yaml refused: keeping the last good configuration')
  }
}

/** Starts the periodic pass; the caller clears the returned timer on close. */
export function startPeriodicPass (state: State, config: Config, log: FastifyBaseLogger): NodeJS.Timeout {
  const { pools, reaper, writer, handle, clock } = state

  /** Keeps the newest EVENT_RETENTION events; nothing to trim while the store is unavailable. */
  async function pruneEventLog (): Promise<void> {
    const db = state.db
    if (db === null || handle.mode !== 'ok') return
    const pruned = await pruneEvents(db, config.eventRetention)
    if (pruned > 0) log.debug({ pruned, kept: config.eventRetention }, 'event log trimmed')
  }

  const interval = setInterval(() => {
    const tidy = pools.sweep(clock()) ? writer.commit() : Promise.resolve()
    Promise.all([tidy, reaper.run(), pruneEventLog()]).catch((err: unknown) => log.error({ err }, 'periodic pass failed'))
  }, config.reaperIntervalS * 1000)
  interval.unref()
  return interval
}
