/**
 * The quarantine folder is bounded (issue 11): unreadable buffer files moved to `.core/state/quarantine/`
 * used to stay forever. At start-up, after orphan recovery has moved the new ones there, only the
 * QUARANTINE_KEEP most recently quarantined databases stay (each with its WAL); older ones are removed and
 * logged one by one. Files there that are not buffer databases are not ours to count or remove.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startService } from './child.js'

const OLD = 40
const NEW = 6
const KEEP = 10

t.test('start-up keeps the newest QUARANTINE_KEEP quarantined files and logs each one it removes', async (t) => {
  const dataDir = t.testdir()
  const state = join(dataDir, '.core', 'state')
  const quarantine = join(state, 'quarantine')
  mkdirSync(quarantine, { recursive: true })
  // Quarantined by earlier start-ups, oldest first; every third with its WAL. The pauses give each its own
  // change time (the kernel's clock for file times ticks every few milliseconds).
  for (let i = 0; i < OLD; i++) {
    const name = `old-${String(i).padStart(2, '0')}.duckdb`
    writeFileSync(join(quarantine, name), 'not a database')
    if (i % 3 === 0) writeFileSync(join(quarantine, `${name}.wal`), 'not a WAL')
    await sleep(15)
  }
  writeFileSync(join(quarantine, 'NOTES.txt'), 'an operator\'s notes about these files')
  // Unreadable orphans this start-up quarantines: the newest of all.
  for (let i = 0; i < NEW; i++) writeFileSync(join(state, `junk-${i}.duckdb`), 'garbage '.repeat(100))

  const svc = await startService(t, { DATA_DIR: dataDir, QUARANTINE_KEEP: String(KEEP) })
  const recovery = (await (await fetch(`${svc.url}/v1/recovery`)).json()) as { orphans: { outcomes: Array<{ outcome: string }> } }
  t.equal(recovery.orphans.outcomes.filter((o) => o.outcome === 'quarantined').length, NEW, 'the new orphans were quarantined')

  const kept = readdirSync(quarantine).sort()
  const newest = [
    ...Array.from({ length: NEW }, (_, i) => `junk-${i}.duckdb`),
    ...Array.from({ length: KEEP - NEW }, (_, i) => `old-${String(OLD - KEEP + NEW + i).padStart(2, '0')}.duckdb`)
  ]
  const withWals = newest.flatMap((n) => n.startsWith('old-') && Number(n.slice(4, 6)) % 3 === 0 ? [n, `${n}.wal`] : [n])
  t.same(kept, ['NOTES.txt', ...withWals].sort(), `the ${KEEP} newest databases stay, with their WALs; the notes file is left alone`)

  const removed = svc.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('removed a quarantined buffer file')).map((l) => l.file)
  t.equal(removed.length, OLD + NEW - KEEP, 'each removal is logged')
  t.ok(removed.includes('quarantine/old-00.duckdb'), 'naming the file')

  // A start-up with nothing new quarantined removes nothing more.
  await svc.kill('SIGTERM')
  const again = await startService(t, { DATA_DIR: dataDir, QUARANTINE_KEEP: String(KEEP) })
  t.same(readdirSync(quarantine).sort(), kept, 'the next start-up keeps the same files')
  await again.kill('SIGTERM')
})
