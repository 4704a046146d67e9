/** `agent-state events` follows the stream and, across a restart of the service, reconnects with Last-Event-ID. */
import t from 'tap'
import { startService } from './child.js'
import { cli, until } from './cli.js'

const report = (url: string, leaf: string) => fetch(`${url}/v1/workspaces/core/r/${leaf}`, {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'queued', agent: 'codex', runs: 0 })
})

// Each step starts a process (the service, the command, its child); on a busy shared machine that takes seconds.
t.setTimeout(300_000)

t.test('events reconnect after a restart and miss nothing, repeat nothing', async (t) => {
  const dir = t.testdir()
  const first = await startService(t, { DATA_DIR: dir })
  const follower = cli(t, first.url, ['events', '--type', 'workspace', '--since', '0', '--count', '3', '--json'])
  // The follower asks from the start (--since 0), so the event reaches it even if it connects after the change.
  t.equal((await report(first.url, 'a')).status, 201)
  await until('the first event', () => follower.stdout.includes('core/r/a') ? true : undefined, 60_000)
  await first.kill('SIGTERM')
  // While the service is down nobody can report; after the restart, two changes the follower has not seen.
  const second = await startService(t, { DATA_DIR: dir, PORT: new URL(first.url).port })
  await report(second.url, 'b')
  await report(second.url, 'c')
  t.equal(await follower.exited, 0)
  const events = follower.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number, subject: string })
  const subjects = events.map((e) => e.subject)
  t.equal(subjects[0], 'core/r/a')
  t.same(subjects.slice(-2), ['core/r/b', 'core/r/c'], 'the changes made while it reconnected')
  t.equal(new Set(events.map((e) => e.id)).size, events.length, 'no event twice')
  t.match(follower.stderr, /reconnecting after event \d+/)
})
