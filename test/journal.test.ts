import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { fingerprint } from '../src/store/buffers/findings.js'
import { build, json } from './helper.js'

const A = { tool: 'gosec', file: 'main.go', line: 42, code: 'G101', message: 'hardcoded secret' }
const B = { tool: 'gosec', file: 'db.go', line: 7, code: 'G201' }
const C = { tool: 'staticcheck', file: 'util.go', line: 3, code: 'SA4006' }
const D = { tool: 'govet', file: 'log.go', line: 12, rule_id: 'printf' }
const E = { tool: 'gosec', file: 'main.go', line: 43, code: 'G101' }

/** One QA cycle through HTTP: create, add every finding plus a tool run, commit. */
async function cycle (app: FastifyInstance, workspace: string, findings: object[]): Promise<void> {
  const name = 'qa-' + workspace.replaceAll('/', '-')
  await app.inject({ method: 'POST', url: '/v1/buffers', ...json({ name, workspace }) })
  await app.inject({ method: 'POST', url: `/v1/buffers/${name}/entries`, ...json([...findings.map((data) => ({ kind: 'finding', data })), { kind: 'tool_run', data: { name: 'gosec' } }]) })
  const res = await app.inject({ method: 'POST', url: `/v1/buffers/${name}/commit` })
  if (res.statusCode !== 200) throw new Error(res.body)
}

t.test('a finding is keyed tool|file|line|code, with rule_id when code is empty', async (t) => {
  t.equal(fingerprint(A), 'gosec|main.go|42|G101')
  t.equal(fingerprint(D), 'govet|log.go|12|printf')
  t.equal(fingerprint({ ...D, code: 'printf' }), fingerprint(D), 'code and rule_id name the same rule')
  t.equal(fingerprint({}), '||0|', 'missing fields are empty, a missing line is 0')
})

t.test('the diff on three committed cycles: new, resolved and persistent', async (t) => {
  const { app } = await build(t)
  await cycle(app, 'core/go-io/task-5', [A, B, C])
  await cycle(app, 'core/go-io/task-5', [A, B, D])
  await cycle(app, 'core/go-io/task-5', [A, A, { ...D, code: 'printf' }, E])
  await cycle(app, 'core/other/task-1', [C])

  const res = await app.inject({ url: '/v1/journal/diff?workspace=core/go-io/task-5' })
  t.equal(res.statusCode, 200)
  const diff = res.json()
  t.equal(diff.window, 5)
  t.same(diff.cycles.map((c: { id: number }) => c.id), [3, 2, 1], 'the workspace\'s cycles, newest first; other workspaces are not mixed in')
  t.same(diff.new, [E], 'in the latest cycle, not in the one before')
  t.same(diff.resolved, [B], 'in the cycle before, gone from the latest')
  t.same(diff.persistent, [A], 'in every cycle of the window, listed once')

  const two = (await app.inject({ url: '/v1/journal/diff?workspace=core/go-io/task-5&window=2' })).json()
  t.same(two.cycles.map((c: { id: number }) => c.id), [3, 2])
  t.same(two.persistent, [A, { ...D, code: 'printf' }], 'with a window of two, D (by rule_id, then by code) persists too; key order')

  const first = (await app.inject({ url: '/v1/journal/diff?workspace=core/other/task-1' })).json()
  t.same([first.new, first.resolved, first.persistent], [[], [], []], 'a single cycle is a baseline')
  t.same((await app.inject({ url: '/v1/journal/diff?workspace=core/none/x' })).json().cycles, [])

  const journal = (await app.inject({ url: '/v1/journal' })).json()
  t.same(journal.items.map((r: { id: number, tags: { workspace: string } }) => [r.id, r.tags.workspace]),
    [[4, 'core/other/task-1'], [3, 'core/go-io/task-5'], [2, 'core/go-io/task-5'], [1, 'core/go-io/task-5']])
})

t.test('the diff refuses a missing workspace and a window outside 2..50', async (t) => {
  const { app } = await build(t)
  for (const q of ['', 'workspace=core/a/b&window=1', 'workspace=core/a/b&window=51', 'workspace=../x', 'workspace=core/a/b&extra=1']) {
    const res = await app.inject({ url: `/v1/journal/diff?${q}` })
    t.equal(res.statusCode, 400, q)
    t.equal(res.json().code, 'validation_failed')
  }
  t.equal((await app.inject({ url: '/v1/journal?limit=1001' })).statusCode, 400)
})
