/**
 * The start-up sequence (API §8): one list, read top to bottom, each step timed into the report behind
 * GET /v1/recovery under its name. A normal start runs every step before the server listens; the steps
 * that need the store are skipped while it is out of reach (a degraded start). When such a store opens
 * later, the same list runs again from its first store step (`late open`), so memory ends up as a start
 * with the store would have built it: registry, deletions, files, pools, configuration, journal, outbox.
 */
import { mkdir, rm } from 'node:fs/promises'
import { recoverBuffers } from '../buffers/recover.js'
import { JOURNAL_GROUP, journalKey, readJournal } from '../buffers/journal.js'
import { stateDir } from '../buffers/paths.js'
import { Database, StoreLockedError } from '../core/database.js'
import type { DomainError } from '../core/errors.js'
import { foldCommits, foldedCommit, type Refusal } from '../core/fold.js'
import { migrate } from '../core/migrations.js'
import { refusedChange } from '../core/writer.js'
import { storeFile } from '../core/paths.js'
import { volumeWarnings } from '../core/volume-folder.js'
import { walBytes, walShortfall, walShortfallWarning } from '../core/wal-check.js'
import { REFUSED_REPORTED } from '../log/model.js'
import { replayLog } from '../log/replay.js'
import { logDir } from '../log/segments.js'
import { readAgentsFile } from '../pools/agents-config.js'
import { pruneHistory } from '../history/retention.js'
import type { Service } from '../service/service.js'
import type { ServiceSettings } from '../service/settings.js'
import { SYNC_GROUPS } from '../sync/sync-queue.js'
import { applyStatusFiles, hydrateWorkspaces, readEntries, readGroups } from '../workspaces/hydrate.js'
import { scanStatusFiles } from '../workspaces/status-scan.js'

export interface StartupContext {
  /** The store, or null while it is out of reach (a degraded start). */
  db: Database | null
  /** True when a store that was out of reach at start-up has just opened. */
  late: boolean
}

interface Step {
  /** The step's name in the report's `timings_ms`. */
  name: string
  /** Skipped while there is no store. */
  needsStore?: true
  /** Run once, at start-up: not again when the store opens late. */
  once?: true
  run: (s: Service, ctx: StartupContext) => Promise<unknown> | unknown
}

/**
 * Opens and migrates the store file (the log is replayed into it by the next step). A WAL
 * DuckDB did not replay whole is reported through `warn`.
 */
export async function openStore (settings: ServiceSettings, warn: (message: string) => void): Promise<Database> {
  const path = storeFile(settings.dataDir)
  const walBefore = walBytes(path)
  const db = await Database.open(path, {
    threads: settings.dbThreads,
    memoryLimit: settings.dbMemoryLimit,
    // DuckDB's allocator keeps freed pages for reuse unless a background thread returns them: after
    // start-up read 100,000 workspaces that was ~150 MB of resident memory held for nothing.
    settings: { allocator_background_threads: 'true' }
  })
  try {
    const dropped = await walShortfall(db, path, walBefore, new Date())
    if (dropped !== null) warn(walShortfallWarning(dropped))
    await migrate(db)
  } catch (err) {
    await db.close()
    throw err
  }
  return db
}

export const STARTUP_STEPS: readonly Step[] = [
  {
    name: 'store_open',
    once: true,
    run: async (s, ctx) => {
      try {
        ctx.db = await s.handle.open()
      } catch (err) {
        // A second writer is never right: refuse to start. Any other failure leaves the service degraded.
        if (err instanceof StoreLockedError) throw err
        s.log.error({ err, path: storeFile(s.settings.dataDir) }, 'store unavailable: serving reads from memory, refusing writes (degraded)')
      }
    }
  },
  {
    // DuckDB's snapshot plus the log past its last folded commit: what was acknowledged and not yet folded
    // goes into the store before anything reads it. A log that cannot be replayed leaves the store unused
    // (a degraded start, retried like a store that did not open).
    name: 'log_replay',
    needsStore: true,
    run: async (s, ctx) => {
      try {
        await replayIntoStore(s, ctx.db as Database)
      } catch (err) {
        if (ctx.late) throw err
        s.log.error({ err, dir: logDir(s.settings.dataDir) }, 'the change log could not be replayed: serving reads from memory, refusing writes (degraded)')
        await s.handle.failOpen(err as Error)
        ctx.db = null
      }
    }
  },
  {
    // Workspaces (with their queue entries and deletions), pools and the event numbering as the store holds them.
    name: 'hydrate_store',
    needsStore: true,
    run: async (s, { db, late }) => {
      const { registry, groups, lastEventId } = await readEntries(db as Database)
      // Synchronously from here: a late open drops what memory and the writer hold before anything commits.
      if (late) forgetFileState(s)
      s.events.resume(lastEventId)
      const counts = hydrateWorkspaces(s.workspaces, registry, groups)
      s.pools.hydrate(groups)
      s.recovery.report.hydrated.from_store = counts.registry
      s.recovery.report.hydrated.from_queue = counts.queueOnly
    }
  },
  // From here on the service's own writes go to the store (at a late open: whatever else was held).
  { name: 'store_attach', needsStore: true, run: (s, { db }) => s.handle.attach(db as Database) },
  {
    // `workspace/` or `backups/` as a link is never followed (core/volume-folder.ts): said once, as start-up finds it.
    name: 'volume',
    once: true,
    run: (s) => {
      for (const warning of volumeWarnings(s.settings.dataDir)) { s.recovery.warn(warning); s.log.warn({}, warning) }
    }
  },
  {
    // What agents wrote to their status.json files while the service was down, judged against the store.
    name: 'hydrate_files',
    run: (s) => {
      const report = s.recovery.report
      const at = s.clock().toISOString()
      const { folders, files, present, invalid } = scanStatusFiles(s.settings.dataDir, at)
      s.files.knowFolders(folders)
      report.hydrated.files_read = files.length
      report.hydrated.from_files = applyStatusFiles(s.workspaces, s.writer, files, present, at)
      report.hydrated.files_invalid = invalid
      for (const f of invalid) s.log.warn({ file: f.path, error: f.error }, 'skipped an unusable status.json')
    }
  },
  {
    // agents.yaml, when there is one; a bad file keeps the last good configuration (from the store, else none) and says so on /readyz.
    name: 'config',
    run: async (s) => {
      try {
        const agents = await readAgentsFile(s.settings.dataDir)
        if (agents !== undefined) s.pools.applyConfig(agents, 'file', 'agents.yaml')
      } catch (err) {
        s.pools.config.error = (err as Error).message
        s.log.error({ error: s.pools.config.error, errors: (err as DomainError).errors }, 'agents.yaml refused: keeping the last good configuration')
      }
    }
  },
  {
    // Expired backoffs go, and ghosts are failed; while degraded, in memory and held for the store like every start-up write.
    name: 'reap',
    run: async (s) => {
      s.pools.sweep(s.clock())
      s.recovery.report.reaped = await s.reaper.run().catch(() => [])
    }
  },
  {
    // What the steps staged, logged; and folded, so the steps after this one read it from the store.
    name: 'commit',
    run: async (s) => {
      if (await s.handle.commitOrHold()) await s.writer.folded().catch(() => {})
    }
  },
  {
    name: 'hydrate_journal',
    needsStore: true,
    run: async (s, { db }) => {
      // Rows past JOURNAL_MAX_BYTES (lowered since they were stored) leave the store with the next commit.
      const at = s.clock().toISOString()
      for (const id of s.journal.load(await readJournal(db as Database))) s.writer.stage(JOURNAL_GROUP, journalKey(id), null, at)
    }
  },
  {
    name: 'orphans',
    run: (s, { db }) => recoverBuffers(s, db, stateDir(s.settings.dataDir), s.settings.quarantineKeep)
  },
  {
    name: 'hydrate_sync',
    needsStore: true,
    run: async (s, { db }) => {
      const counts = s.sync.queue.load(await readGroups(db as Database, SYNC_GROUPS))
      s.log.info({ sync: counts, upstream: s.sync.flusher !== null }, 'sync queue hydrated')
      // Stores the deletion of remembered idempotency keys that expired while the service was down.
      await s.handle.commitOrHold()
    }
  },
  {
    // Leftovers of a process that died mid-export or mid-backup, and run history past its retention.
    name: 'tidy',
    run: async (s, { db }) => {
      const { dataDir, historyRetentionDays, historyMaxRows } = s.settings
      try {
        await rm(s.history.exportDir, { recursive: true, force: true })
        await mkdir(s.history.exportDir, { recursive: true })
        await s.history.backups.clean()
        if (db !== null && s.writer.mode === 'ok' && historyRetentionDays > 0) {
          const deleted = await pruneHistory(db, s.clock(), historyRetentionDays, historyMaxRows)
          if (deleted > 0) s.log.info({ deleted }, 'run history trimmed')
        }
      } catch (err) {
        // A volume we cannot tidy is worth a warning; the exports or backups that need it will say why they fail.
        s.log.warn({ err, dataDir }, 'could not tidy export and backup leftovers')
      }
    }
  }
]

/** Replays the log into `db` (log/replay.ts) and hands the log, with its numbering, to the writer. */
async function replayIntoStore (s: Service, db: Database): Promise<void> {
  const report = s.recovery.report
  const onRefused = (r: Refusal): void => {
    const { commit, source, entries, tables, error } = refusedChange(r)
    const refused = { commit: commit as number, source: source ?? null, entries, tables, error: error.message }
    s.log.error(refused, 'the store refused a logged change while replaying (a value it cannot hold): left out')
    if (report.log.refused.length < REFUSED_REPORTED) report.log.refused.push(refused)
    report.log.refused_total++
  }
  const { dataDir } = s.settings
  const replayed = await replayLog({
    dir: logDir(dataDir),
    dataDir,
    folded: await foldedCommit(db),
    now: s.clock(),
    log: s.log,
    apply: async (commits) => { if (commits.length > 0) await foldCommits(db, commits, onRefused) }
  })
  report.log = { ...replayed.report, refused: report.log.refused, refused_total: report.log.refused_total }
  await s.writer.openLog(replayed.left, replayed.lastNo, replayed.report.last_commit)
  if (replayed.report.replayed > 0) s.log.info({ replayed: replayed.report.replayed, changes: replayed.report.changes, last_commit: replayed.report.last_commit }, 'change log replayed into the store')
}

/**
 * A store that opens late finds memory holding only what the status.json files and agents.yaml said,
 * judged against nothing, and the service's own verdicts on that, held for the store. No client write was
 * taken meanwhile (every write is refused while there is no store), so all of it is dropped: the steps
 * rebuild it from the store and the files, and nothing the store contradicts is written back.
 */
function forgetFileState (s: Service): void {
  s.writer.discardHeld()
  s.workspaces.forgetAll()
  s.pools.reset()
}

async function runSteps (s: Service, steps: readonly Step[], ctx: StartupContext): Promise<void> {
  for (const step of steps) {
    if (step.needsStore === true && ctx.db === null) continue
    await s.recovery.step(step.name, () => step.run(s, ctx))
  }
}

function finish (s: Service, ctx: StartupContext): void {
  const report = s.recovery.report
  const error = ctx.db === null ? s.handle.error : s.writer.error
  report.store = error === null ? { mode: 'ok' } : { mode: 'degraded', error: error.message }
  report.finished_at = s.clock().toISOString()
  s.log.info({
    late: ctx.late,
    hydrated: { ...report.hydrated, files_invalid: report.hydrated.files_invalid.length },
    reaped: report.reaped.length,
    orphans: report.orphans.outcomes.length,
    timings_ms: report.timings_ms
  }, ctx.late ? 'store opened late: start-up steps run again with it' : 'start-up recovery done')
}

/** The whole sequence, at start-up; the store, when it opened, takes writes once every step has run. */
export async function runStartup (s: Service): Promise<void> {
  const ctx: StartupContext = { db: null, late: false }
  await runSteps(s, STARTUP_STEPS, ctx)
  if (ctx.db !== null) s.handle.serve(ctx.db)
  finish(s, ctx)
}

/**
 * The steps again for a store that opened late (StoreHandle.reconnect calls this before it serves `db`):
 * every step but the once-only ones, in the same order. Agents could not heartbeat while every write was
 * refused, so leases count again from here, before the reaper judges anything.
 */
export async function runLateOpen (s: Service, db: Database): Promise<void> {
  const ctx: StartupContext = { db, late: true }
  s.reaper.startLeaseClock()
  await runSteps(s, STARTUP_STEPS.filter((step) => step.once !== true), ctx)
  finish(s, ctx)
}
