/**
 * SIGTERM under load (issue 11): a real service process takes writes from 50 clients, long-poll claims and
 * event streams when it is told to stop. It must stop taking requests, answer those in flight, store them,
 * and exit 0 well inside its close grace (on a timeout the process exits 1). Every write answered 2xx is
 * there after a restart; every request the closing service refused got a problem+json 503 `shutting_down`
 * or a connection error.
 *
 * Most clients go quiet once the signal is sent, as agents between two reports do: their keep-alive
 * connections, busy at the signal, are then idle and open, which is what used to hold the close for the
 * full grace. The rest keep sending until the process is gone.
 */
import { request, Agent } from 'node:http'
import t from 'tap'
import { startService, type Service } from './child.js'
import { call } from './faults.js'

const GRACE_MS = 30_000
const QUIET = 40
const LOUD = 10

interface Answer { status: number, code?: string }

/** One JSON request over the client's own keep-alive connection; a refused or cut connection is status 0. */
function send (agent: Agent, url: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(url + path, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => {
        let code: string | undefined
        try { code = (JSON.parse(text) as { code?: string }).code } catch {}
        resolve({ status: res.statusCode ?? 0, code })
      })
      res.on('error', () => resolve({ status: 0 }))
    })
    req.on('error', () => resolve({ status: 0 }))
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

t.test('SIGTERM under load: in-flight requests answered and stored, late ones refused, exit 0 well inside the grace', async (t) => {
  const dataDir = t.testdir()
  const env = { DATA_DIR: dataDir, CLOSE_GRACE_MS: String(GRACE_MS) }
  const svc: Service = await startService(t, env)
  const agents: Agent[] = []
  t.teardown(() => { for (const a of agents) a.destroy() })
  const client = (): Agent => { const a = new Agent({ keepAlive: true, maxSockets: 1 }); agents.push(a); return a }

  const acked: string[] = []
  const refused: Answer[] = []
  const unexpected: Array<Answer & { what: string }> = []
  // Fields, not variables: the loops below read them while other code changes them.
  const phase = { signalled: false, gone: false }
  void svc.exited.then(() => { phase.gone = true })

  const writer = async (k: number, quiet: boolean): Promise<void> => {
    const agent = client()
    for (let i = 0; quiet ? !phase.signalled : !phase.gone; i++) {
      const name = `core/load-${k}/w${i}`
      const sentAfterSignal = phase.signalled
      const a = await send(agent, svc.url, 'PUT', `/v1/workspaces/${name}`, { status: 'queued', agent: 'codex', runs: 0 })
      if (a.status === 200 || a.status === 201) acked.push(name)
      else if ((a.status === 503 && a.code === 'shutting_down') || a.status === 0) refused.push(a)
      else unexpected.push({ ...a, what: `PUT ${name}${sentAfterSignal ? ' (after the signal)' : ''}` })
    }
  }
  // Long polls on a pool with nothing queued: each waits its full minute unless shutdown answers it.
  const claimer = async (): Promise<void> => {
    const agent = client()
    while (!phase.gone) {
      const a = await send(agent, svc.url, 'POST', '/v1/queue/claim', { pool: 'idle-pool', wait_s: 60 })
      if (a.status !== 204 && a.status !== 0 && !(a.status === 503 && a.code === 'shutting_down')) unexpected.push({ ...a, what: 'claim' })
    }
  }
  // Event streams that reconnect as soon as they end, so some are opening while the service closes.
  const watcher = async (): Promise<number> => {
    const agent = client()
    let streams = 0
    while (!phase.gone) {
      await new Promise<void>((resolve) => {
        const req = request(svc.url + '/v1/events', { agent }, (res) => {
          if (res.statusCode === 200) streams++
          res.resume()
          res.on('end', resolve)
          res.on('error', () => resolve())
        })
        req.on('error', () => resolve())
        req.end()
      })
    }
    return streams
  }

  const load = [
    ...Array.from({ length: QUIET }, (_, k) => writer(k, true)),
    ...Array.from({ length: LOUD }, (_, k) => writer(QUIET + k, false)),
    claimer(), claimer(), claimer()
  ]
  const watchers = [watcher(), watcher()]
  // Let the load build up: writes acknowledged from every client, the polls and streams open.
  while (acked.length < 300) await new Promise((resolve) => setTimeout(resolve, 50))
  const before = acked.length

  const started = Date.now()
  phase.signalled = true
  svc.proc.kill('SIGTERM')
  const code = await svc.exited
  const tookMs = Date.now() - started
  await Promise.all(load)
  const streams = (await Promise.all(watchers)).reduce((a, b) => a + b, 0)
  t.comment(`exit ${code} after ${tookMs} ms (grace ${GRACE_MS} ms); ${acked.length} writes acknowledged (${acked.length - before} after the signal was sent), ${refused.length} refused, ${streams} event streams opened`)

  t.equal(code, 0, 'the service exits 0: every write stored, nothing held past the grace')
  t.ok(tookMs < GRACE_MS / 2, `it exits well inside the close grace (${tookMs} ms of ${GRACE_MS})`)
  t.same(unexpected, [], 'every answer is a 2xx, a 204 for a claim, a 503 shutting_down or a connection error')
  t.ok(refused.length > 0, 'the clients that kept sending were refused once the service was closing')
  t.match(svc.logs.at(-1), { msg: /^closed:/ }, 'the last log line says the close finished')

  const again = await startService(t, env)
  const missing: string[] = []
  for (const name of acked) {
    if ((await call(again.url, 'GET', `/v1/workspaces/${name}`)).status !== 200) missing.push(name)
  }
  t.same(missing, [], `all ${acked.length} acknowledged writes are there after the restart`)
  await again.kill('SIGTERM')
})
