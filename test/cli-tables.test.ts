/**
 * The CLI's tables on a real fleet: 10,000 workspaces, 1,000 of them queued and 500 blocked, in the real service,
 * read by the real command. Node's fetch asks for compression and these answers are far above the compression
 * threshold, so each table arrives compressed: a text answer must stay a text answer.
 */
import { join } from 'node:path'
import { DuckDBInstance, LIST, VARCHAR, listValue } from '@duckdb/node-api'
import t, { type Test } from 'tap'
import { startService } from './child.js'
import { cliDone } from './cli.js'
import { duckRows } from './duck.js'

// Three service starts (one hydrating 10,000 workspaces) and four CLI starts: tens of seconds on a busy 2-core machine.
t.setTimeout(600_000)

const FLEET = 10_000
const QUEUED = 1_000
const BLOCKED = 500

const statusOf = (i: number): string => i < QUEUED ? 'queued' : i < QUEUED + BLOCKED ? 'blocked' : 'completed'

/**
 * A store holding FLEET workspaces. 10,000 PUTs take minutes on a loaded 2-core machine, so the service stores one
 * workspace of each kind, stops cleanly, and its stored rows are cloned under new names into the same table;
 * the next start hydrates them like any store it finds.
 */
async function seedFleet (t: Test, dataDir: string): Promise<void> {
  const first = await startService(t, { DATA_DIR: dataDir })
  for (const status of ['queued', 'blocked', 'completed']) {
    const body = { status, agent: 'codex:gpt-5.4', runs: status === 'queued' ? 0 : 1, task: 'the task', ...(status === 'blocked' ? { question: 'the question' } : {}) }
    const res = await fetch(`${first.url}/v1/workspaces/core/seed/${status}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    t.equal(res.status, 201)
  }
  await first.kill('SIGTERM')
  const file = join(dataDir, '.core', 'db.duckdb')
  const stored = await duckRows(file, "SELECT grp, key, value, CAST(updated_at AS VARCHAR) AS at FROM entries WHERE key LIKE 'core/seed/%'")
  const row = (grp: string, status: string) => stored.find((r) => r.grp === grp && r.key === `core/seed/${status}`) as { value: string, at: string }
  const cols: [string[], string[], string[], string[]] = [[], [], [], []]
  const add = (grp: string, key: string, value: string, at: string) => { cols[0].push(grp); cols[1].push(key); cols[2].push(value); cols[3].push(at) }
  for (let i = 0; i < FLEET; i++) {
    const status = statusOf(i)
    const [repo, leaf] = [`r${i % 50}`, `t${i}`]
    const rename = (value: string) => JSON.stringify({ ...JSON.parse(value), name: `core/${repo}/${leaf}`, repo, leaf, ...(status === 'blocked' ? { question: `question ${i}` } : {}) })
    const registry = row('registry', status)
    add('registry', `core/${repo}/${leaf}`, rename(registry.value), registry.at)
    if (status === 'queued') add('queue', `core/${repo}/${leaf}`, rename(row('queue', status).value), registry.at)
  }
  const instance = await DuckDBInstance.create(file)
  try {
    const conn = await instance.connect()
    for (const table of ['entry_snapshot', 'entry_log']) await conn.run(`DELETE FROM ${table} WHERE key LIKE 'core/seed/%'`)
    await conn.run('INSERT INTO entry_snapshot (grp, key, value, updated_at) SELECT unnest($1), unnest($2), unnest($3), unnest($4)::TIMESTAMPTZ',
      cols.map((c) => listValue(c)), cols.map(() => LIST(VARCHAR)))
    await conn.run('CHECKPOINT')
    conn.closeSync()
  } finally {
    instance.closeSync()
  }
}

t.test('workspaces, queue and status print text tables for 10,000 workspaces', async (t) => {
  const dataDir = t.testdir()
  await seedFleet(t, dataDir)
  const svc = await startService(t, { DATA_DIR: dataDir })

  // The service does compress these answers for the same fetch the CLI uses: the case that used to print JSON.
  const probe = await fetch(`${svc.url}/v1/queue?format=text&limit=1000`)
  t.match(probe.headers.get('content-encoding'), /^(br|gzip|deflate)$/)
  t.match(probe.headers.get('content-type'), /^text\/plain/)
  await probe.arrayBuffer()

  const [all, page, queue, status] = await Promise.all([
    ['workspaces', '--limit', '1000'], ['workspaces'], ['queue', '--limit', '1000'], ['status']
  ].map((args) => cliDone(t, svc.url, args)))

  const rows = (out: string | undefined, header: RegExp, row: RegExp): string[] => {
    const lines = (out ?? '').trimEnd().split('\n')
    t.match(lines[0], header, 'the first line is the table header')
    return lines.filter((l) => row.test(l))
  }
  t.equal(all?.code, 0)
  t.equal(rows(all?.stdout, /^NAME +STATUS +AGENT +RUNS/, /^core\/r\d+\/t\d+ +(queued|blocked|completed) +codex:gpt-5\.4 /).length, 1000, 'a page of 1,000 workspaces, one row each')
  t.match(all?.stdout, /^more: add cursor=\S+$/m)
  t.equal(rows(page?.stdout, /^NAME +STATUS/, /^core\//).length, 100, 'the default page')
  t.equal(queue?.code, 0)
  t.equal(rows(queue?.stdout, /^NAME +AGENT +PRIORITY +QUEUED_AT/, /^core\/r\d+\/t\d+ +codex:gpt-5\.4 +0 /).length, QUEUED, 'the whole queue of 1,000')
  t.equal(status?.code, 0)
  t.match(status?.stdout, /^STATUS +COUNT\n/)
  t.match(status?.stdout, new RegExp(`^queued +${QUEUED}$`, 'm'))
  t.match(status?.stdout, new RegExp(`^blocked +${BLOCKED}$`, 'm'))
  t.match(status?.stdout, new RegExp(`^total +${FLEET}$`, 'm'))
  t.equal(rows(status?.stdout, /^STATUS/, /^core\/r\d+\/t\d+ +codex:gpt-5\.4 +question \d+$/).length, 50, 'the 50 most recently blocked')
  t.match(status?.stdout, new RegExp(`^50 of ${BLOCKED} shown`, 'm'))
  for (const r of [all, page, queue, status]) t.notMatch(r?.stdout, /^\{/, 'no JSON')
})
