/** The long-poll claim: `wait_s` answers the moment work is admissible, times out with 204, never passes a limit. */
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { domain, manualClock } from './domain.js'
import { build, put, report } from './helper.js'

const claim = (app: FastifyInstance, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/v1/queue/claim', payload: body })

const queued = (over: Record<string, unknown> = {}) => report({ status: 'queued', ...over })

async function queueNames (app: FastifyInstance): Promise<string[]> {
  return (await app.inject({ url: '/v1/queue' })).json().items.map((i: { workspace: { name: string } }) => i.workspace.name)
}

t.test('a wait with nothing to claim ends with 204 after wait_s and changes nothing', async (t) => {
  const { app } = await build(t)
  const started = Date.now()
  const res = await claim(app, { wait_s: 1 })
  t.equal(res.statusCode, 204)
  t.ok(Date.now() - started >= 950, 'it waited')
  t.same((await app.inject({ url: '/v1/status' })).json().total, 0)
  t.equal((await claim(app, { wait_s: 61 })).json().code, 'validation_failed', 'the wait is bounded')
})

t.test('a waiting claim is answered within 100 ms of work appearing', async (t) => {
  const { app } = await build(t)
  const waiting = claim(app, { pool: 'codex', wait_s: 20, host: 'box-1' }).then((res) => ({ res, at: performance.now() }))
  await new Promise((resolve) => setTimeout(resolve, 300))
  // Work for another pool does not answer a claim limited to codex.
  t.equal((await put(app, 'core/r/other', queued({ agent: 'claude:opus' }))).statusCode, 201)
  const answered = await put(app, 'core/r/task-1', queued())
  const putAt = performance.now()
  t.equal(answered.statusCode, 201)
  const { res, at } = await waiting
  t.equal(res.statusCode, 200)
  t.match(res.json(), { name: 'core/r/task-1', status: 'running', runs: 2, host: 'box-1' })
  t.ok(at - putAt < 100, `answered ${Math.round(at - putAt)} ms after the work was queued`)
  t.same(await queueNames(app), ['core/r/other'])
})

t.test('waiting claims never pass a limit and are served in arrival order', async (t) => {
  const { app } = await build(t)
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config', payload: { concurrency: { codex: 1 } } })).statusCode, 200)
  await put(app, 'core/r/busy', report())
  await put(app, 'core/r/low', queued({ priority: 0 }))
  await put(app, 'core/r/high', queued({ priority: 5 }))
  const answers: string[] = []
  const waiter = (id: string, waitS: number) => claim(app, { wait_s: waitS, host: id }).then((res) => {
    answers.push(id)
    return res
  })
  const first = waiter('first', 10)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const second = waiter('second', 2)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(await queueNames(app), ['core/r/high', 'core/r/low'], 'a full pool keeps both queued')
  await put(app, 'core/r/busy', report({ status: 'completed' }))
  const got = await first
  t.match(got.json(), { name: 'core/r/high', host: 'first' }, 'the first waiter takes the first in drain order')
  const late = await second
  t.equal(late.statusCode, 204, 'the pool is full again: the second waiter times out')
  t.same(answers, ['first', 'second'])
  t.same(await queueNames(app), ['core/r/low'])
  t.equal((await app.inject({ url: '/v1/pools/codex' })).json().running, 1)
})

t.test('a backoff running out wakes a waiting claim without any other change', async (t) => {
  const { app } = await build(t)
  await put(app, 'core/r/task-1', queued())
  t.equal((await app.inject({ method: 'PUT', url: '/v1/pools/codex/backoff', payload: { seconds: 1, reason: 'test' } })).statusCode, 200)
  t.equal((await claim(app, {})).statusCode, 204, 'backed off now')
  const res = await claim(app, { wait_s: 10 })
  t.match(res.json(), { name: 'core/r/task-1', status: 'running' })
})

t.test('a client that disconnects stops waiting and claims nothing', async (t) => {
  const { app } = await build(t)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const gone = new AbortController()
  const request = fetch(`${url}/v1/queue/claim`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ wait_s: 20 }), signal: gone.signal
  }).catch((err: Error) => err.name)
  await new Promise((resolve) => setTimeout(resolve, 200))
  gone.abort()
  t.equal(await request, 'AbortError')
  await new Promise((resolve) => setTimeout(resolve, 100))
  await put(app, 'core/r/task-1', queued())
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(await queueNames(app), ['core/r/task-1'], 'the work is still queued for someone who is there')
})

t.test('waiting claims are bounded, and closing the service answers them', async (t) => {
  const { app } = await build(t, { CLAIM_WAITERS_MAX: '1' })
  const waiting = claim(app, { wait_s: 30 })
  await new Promise((resolve) => setTimeout(resolve, 100))
  const refused = await claim(app, { wait_s: 30 })
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'too_many_waiters')
  t.equal((await claim(app, {})).statusCode, 204, 'a claim without a wait is still served')
  const started = Date.now()
  await app.close()
  t.equal((await waiting).statusCode, 204)
  t.ok(Date.now() - started < 5000, 'shutdown did not wait for the long poll')
})

t.test('a claim whose first try is still running when the service closes answers at once, without starting a wait', async (t) => {
  const clock = manualClock()
  const { claims: waits } = await domain(t, clock.now)
  // Nothing is queued, so the claim would wait its minute; close() comes while its first try is in flight,
  // as for a request let in just before the service began closing.
  const answer = waits.claim({}, 60_000, new AbortController().signal)
  waits.close()
  const outcome = await Promise.race([answer, sleep(5000).then(() => 'still waiting')])
  t.equal(outcome, null, 'answered "nothing" (204) at once')
  t.equal(waits.waiting, 0, 'and nothing waits')
})
