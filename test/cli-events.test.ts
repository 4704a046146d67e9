/** `agent-state events` follows the stream and, across a restart of the service, reconnects with Last-Event-ID. */
import { connect, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
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

/**
 * A TCP relay between the CLI and the service: `drop()` cuts every connection and refuses new ones until `resume(port)`
 * points it at a (restarted) service. The follower cannot reconnect in between, so what is written then is written
 * while it is away, whatever the timing.
 */
async function relay (t: Test, port: number) {
  let target: number | null = port
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (target === null) { client.destroy(); return }
    const upstream = connect(target, '127.0.0.1')
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(a)
      a.on('error', () => b.destroy())
      a.on('close', () => { sockets.delete(a); b.destroy() })
      a.pipe(b)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    drop: () => { target = null; for (const s of sockets) s.destroy() },
    resume: (to: number) => { target = to }
  }
}

t.test('a follower that had seen no event still gets every event written while it was cut off', async (t) => {
  const dir = t.testdir()
  const first = await startService(t, { DATA_DIR: dir })
  // Events before the follower starts are not its business: it follows from the stream's position when it starts.
  t.equal((await report(first.url, 'before')).status, 201)
  const link = await relay(t, Number(new URL(first.url).port))
  const follower = cli(t, link.url, ['events', '--type', 'workspace', '--count', '2', '--json'])
  await until('the follower\'s stream is open', async () => {
    const metrics = await (await fetch(`${first.url}/metrics`)).text()
    return /^agent_state_event_streams 1$/m.test(metrics) ? true : undefined
  }, 60_000)
  // The connection drops, the service restarts, and two changes are stored before the follower can reconnect.
  link.drop()
  await first.kill('SIGTERM')
  const second = await startService(t, { DATA_DIR: dir })
  t.equal((await report(second.url, 'during-1')).status, 201)
  t.equal((await report(second.url, 'during-2')).status, 201)
  link.resume(Number(new URL(second.url).port))
  t.equal(await follower.exited, 0)
  const subjects = follower.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { subject: string }).subject)
  t.same(subjects, ['core/r/during-1', 'core/r/during-2'], 'the changes made while it was away, and not the one before it started')
})
