/** The domain rules on their own, no HTTP: fencing, admission, backoff, reaping verdicts and the journal diff. */
import t from 'tap'
import { diffCycles } from '../src/store/buffers/findings.js'
import { validateConfig } from '../src/store/pools/agents-config.js'
import type { WorkspaceReport } from '../src/store/workspaces/model.js'
import { domain, manualClock } from './domain.js'
import { deadPid } from './helper.js'

const at = (leaf: string) => ({ org: 'core', repo: 'go-io', leaf })
const running = (runs: number, over: Partial<WorkspaceReport> = {}): WorkspaceReport => ({ status: 'running', agent: 'codex:gpt-5.4', runs, task: 'port the tests', ...over })

t.test('fencing: a report from an earlier run is refused; a higher run resumes a reaped one', async (t) => {
  const clock = manualClock()
  const { workspaces, reaper } = await domain(t, clock.now)
  await workspaces.report(at('a'), running(2))
  await t.rejects(workspaces.report(at('a'), running(1)), { code: 'stale_run', status: 409 })

  await workspaces.report(at('b'), running(1, { pid: deadPid() }))
  t.match(await reaper.run(), [{ name: 'core/go-io/b', reason: 'pid_dead' }])
  await t.rejects(workspaces.report(at('b'), running(1)), { code: 'stale_run' }, 'the reaped run stays reaped')
  const { tracked } = await workspaces.report(at('b'), running(2))
  t.equal(tracked.record.status, 'running')
  t.equal(tracked.record.reaped, undefined, 'a new run starts clean')
})

t.test('admission: a full pool, a full model and a backoff are each a reason until they pass', async (t) => {
  const clock = manualClock()
  const { workspaces, pools } = await domain(t, clock.now)
  pools.applyConfig(validateConfig({ concurrency: { codex: { total: 2, 'gpt-5.4': 1 } } }, true), 'api', 'test')
  t.same(pools.reasons('codex', 'codex:gpt-5.4', clock.now()), [])
  await workspaces.report(at('a'), running(1))
  t.same(pools.reasons('codex', 'codex:gpt-5.4', clock.now()), ['model_full'])
  t.same(pools.reasons('codex', 'codex:o3', clock.now()), [], 'another model still fits')
  await workspaces.report(at('b'), running(1, { agent: 'codex:o3' }))
  t.same(pools.reasons('codex', 'codex:o3', clock.now()), ['pool_full'])

  const { view, store } = await pools.setBackoff('claude', new Date(clock.now().getTime() + 60_000), 'quota', 'test')
  t.equal(store.mode, 'ok', 'answered once stored')
  t.equal(view.admissible, false)
  t.same(pools.reasons('claude', undefined, clock.now()), ['backoff'])
  clock.advance(60)
  t.same(pools.reasons('claude', undefined, clock.now()), [], 'a backoff ends at its deadline')
})

t.test('backoff: fast failures in a row back a pool off; a slow failure or a clear resets the count', async (t) => {
  const clock = manualClock()
  const { workspaces, pools } = await domain(t, clock.now)
  pools.applyConfig(validateConfig({ backoff: { fail_threshold: 2, fast_fail_s: 60, backoff_s: 600 } }, true), 'api', 'test')
  const failFast = async (leaf: string, afterS: number) => {
    await workspaces.report(at(leaf), running(1))
    clock.advance(afterS)
    await workspaces.report(at(leaf), running(1, { status: 'failed' }))
  }
  await failFast('a', 5)
  t.equal(pools.view('codex', clock.now()).fail_count, 1)
  await failFast('b', 120)
  t.equal(pools.view('codex', clock.now()).fail_count, 0, 'a slow failure is not counted')
  await failFast('c', 5)
  await failFast('d', 5)
  const backedOff = pools.view('codex', clock.now())
  t.match(backedOff, { fail_count: 0, backoff_reason: /^2 failures in a row/, admissible: false })
  t.equal(Date.parse(backedOff.backoff_until as string), clock.now().getTime() + 600_000)

  const { view } = await pools.clearBackoff('codex', 'test')
  t.match(view, { backoff_until: null, fail_count: 0, admissible: true })
})

t.test('reaping verdicts: a dead local PID, a reused PID, a silent lease; a live, remote or finished one is left', async (t) => {
  const clock = manualClock()
  const { workspaces, reaper } = await domain(t, clock.now, { LEASE_S: '300' })
  const record = async (leaf: string, over: Partial<WorkspaceReport>) => (await workspaces.report(at(leaf), running(1, over))).tracked.record
  const now = () => clock.now().getTime()

  t.match(reaper.judge(await record('dead', { pid: deadPid() }), now()), { reason: 'pid_dead' })
  t.match(reaper.judge(await record('reused', { pid: process.pid, pid_started_at: '2001-01-01T00:00:00Z' }), now()), { reason: 'pid_reused' })
  t.equal(reaper.judge(await record('alive', { pid: process.pid }), now()), null)
  t.equal(reaper.judge(await record('remote', { pid: deadPid(), host: 'elsewhere' }), now()), null, 'a PID on another host is not ours to check')
  t.equal(reaper.judge(await record('done', { status: 'completed', pid: deadPid() }), now()), null)

  const quiet = await record('quiet', {})
  clock.advance(299)
  t.equal(reaper.judge(quiet, now()), null, 'within the lease')
  clock.advance(1)
  t.match(reaper.judge(quiet, now()), { reason: 'lease_expired', evidence: /no report or heartbeat for 300s/ })
})

t.test('journal diff: new, resolved and persistent findings by fingerprint', async (t) => {
  const gosec = { tool: 'gosec', file: 'a.go', line: 3, code: 'G101' }
  const vet = { tool: 'govet', file: 'b.go', line: 9, rule_id: 'printf' }
  const lint = { tool: 'lint', file: 'c.go', line: 1, code: 'L1' }
  t.same(diffCycles([[gosec]]), { new: [], resolved: [], persistent: [] }, 'one cycle is a baseline')
  t.same(diffCycles([[gosec, lint], [gosec, vet, { ...vet }], [gosec, vet]]), { new: [lint], resolved: [vet], persistent: [gosec] }, 'newest cycle first')
  t.same(diffCycles([[{ ...gosec, message: 'x' }], [{ ...gosec, message: 'y' }]]).new, [], 'a message change is the same finding')
})
