/** Reads whose cost must not grow with the fleet: the status summary's blocked list is capped, the queue is paged from an index. */
import t from 'tap'
import { build, put, report } from './helper.js'
import type { Workspace } from '../src/store/workspaces/model.js'

const clockAt = (iso: string) => {
  let now = Date.parse(iso)
  return { clock: () => new Date(now), advance: (s: number) => { now += s * 1000 } }
}

/** Records as hydration would bring them, cloned from one the API stored, so every field is a real one. */
const like = (base: Workspace, over: Partial<Workspace>): Workspace => ({ ...base, ...over })

t.test('/v1/status lists the 50 most recently updated blocked workspaces, counts them all, and points at the paged list', async (t) => {
  const c = clockAt('2026-11-30T10:00:00Z')
  const { app } = await build(t, {}, { clock: c.clock })
  const base = (await put(app, 'core/seed/t0', report({ status: 'blocked', question: 'seed' }))).json() as Workspace
  // 120 blocked from "the store" (start-up hydration), each updated a minute after the one before.
  const hydrated = Array.from({ length: 120 }, (_, i) => {
    const updatedAt = new Date(Date.parse('2026-11-29T00:00:00Z') + i * 60_000).toISOString()
    return like(base, { name: `core/r${i % 7}/t${i}`, repo: `r${i % 7}`, leaf: `t${i}`, question: `q${i}`, updated_at: updatedAt })
  })
  app.service.workspaces.load(hydrated)
  // Live changes after hydration: one newly blocked (the newest), one unblocked.
  c.advance(60)
  await put(app, 'core/live/t1', report({ status: 'blocked', agent: 'claude:opus', question: 'which token?' }))
  await put(app, 'core/r0/t0', report({ status: 'running', runs: 2 }))

  const res = await app.inject({ url: '/v1/status' })
  t.equal(res.statusCode, 200)
  const s = res.json()
  t.equal(s.blocked_total, 121, 'seed + 120 hydrated + 1 live - 1 unblocked')
  t.equal(s.by_status.blocked, s.blocked_total)
  t.equal(s.blocked_list, '/v1/workspaces?status=blocked')
  t.equal(s.blocked.length, 50)
  t.same(s.blocked[0], { name: 'core/live/t1', repo: 'live', agent: 'claude:opus', question: 'which token?', updated_at: c.clock().toISOString() })
  const expected = ['core/seed/t0', ...hydrated.slice(1).reverse().slice(0, 48).map((w) => w.name)]
  t.same(s.blocked.slice(1).map((b: { name: string }) => b.name), expected, 'then the seed (updated on this clock), then the hydrated ones, newest first')

  // The pointer really lists every one of them, a page at a time.
  const all: string[] = []
  let cursor: string | null = null
  do {
    const q: string = cursor === null ? '' : `&cursor=${cursor}`
    const page = (await app.inject({ url: `/v1/workspaces?status=blocked&limit=40${q}` })).json()
    all.push(...page.items.map((w: Workspace) => w.name))
    cursor = page.next_cursor
  } while (cursor !== null)
  t.equal(all.length, s.blocked_total)

  const text = await app.inject({ url: '/v1/status?format=text' })
  t.match(text.body, /blocked:\nNAME +AGENT +QUESTION\ncore\/live\/t1 +claude:opus +which token\?/)
  t.match(text.body, /50 of 121 shown \(newest first\); all: \/v1\/workspaces\?status=blocked/)
})

t.test('/v1/queue pages over a queue of thousands, walked with cursors, give exactly the drain order, and a cursor outlives its item', async (t) => {
  const { app } = await build(t)
  const base = (await put(app, 'core/seed/q0', report({ status: 'queued', runs: 0 }))).json() as Workspace
  const start = Date.parse('2026-11-29T00:00:00Z')
  // Priorities 0-4 and queued_at values that collide (every 13th second repeats), so all three sort keys matter.
  const hydrated = Array.from({ length: 3000 }, (_, i) => {
    const queuedAt = new Date(start + (i % 13) * 1000).toISOString()
    return like(base, { name: `core/r${i % 11}/q${i}`, repo: `r${i % 11}`, leaf: `q${i}`, priority: (i * 7) % 5, queued_at: queuedAt, updated_at: queuedAt })
  })
  app.service.workspaces.load(hydrated)
  await put(app, 'core/live/q1', report({ status: 'queued', runs: 0, priority: 9 }))
  const expected = [...hydrated, base].sort((a, b) =>
    b.priority - a.priority || (a.queued_at as string).localeCompare(b.queued_at as string) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((w) => w.name)
  expected.unshift('core/live/q1')

  const walk = async (limit: number): Promise<string[]> => {
    const names: string[] = []
    let cursor: string | null = null
    do {
      const q: string = cursor === null ? '' : `&cursor=${cursor}`
      const res = await app.inject({ url: `/v1/queue?limit=${limit}${q}` })
      t.equal(res.statusCode, 200)
      const page = res.json()
      t.ok(page.items.length <= limit)
      t.ok(page.items.every((i: { admissible: boolean, reasons: string[] }) => i.admissible === (i.reasons.length === 0)))
      names.push(...page.items.map((i: { workspace: Workspace }) => i.workspace.name))
      cursor = page.next_cursor
    } while (cursor !== null)
    return names
  }
  t.same(await walk(97), expected, 'pages of 97')
  t.same(await walk(1000), expected, 'pages of 1000')

  // Page one, then its first item is claimed and its last (the cursor's) deleted: page two still starts right after.
  const first = (await app.inject({ url: '/v1/queue?limit=10' })).json()
  const claimed = await app.inject({ method: 'POST', url: '/v1/queue/claim' })
  t.equal(claimed.json().name, expected[0])
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/workspaces/${expected[9] as string}` })).statusCode, 204)
  const second = (await app.inject({ url: `/v1/queue?limit=10&cursor=${first.next_cursor as string}` })).json()
  t.same(second.items.map((i: { workspace: Workspace }) => i.workspace.name), expected.slice(10, 20))

  // A cursor of the old form (the bare name of a queued workspace) still resumes after it.
  const old = Buffer.from(JSON.stringify({ k: expected[20] })).toString('base64url')
  t.same((await app.inject({ url: `/v1/queue?limit=2&cursor=${old}` })).json().items.map((i: { workspace: Workspace }) => i.workspace.name), expected.slice(21, 23))
  const bad = await app.inject({ url: `/v1/queue?cursor=${Buffer.from(JSON.stringify({ k: 'core/no/such' })).toString('base64url')}` })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'invalid_cursor')
})

t.test('a filtered list examines a bounded number of workspaces per page; following its cursors still finds every match', async (t) => {
  const { app } = await build(t)
  const base = (await put(app, 'core/seed/w0', report())).json() as Workspace
  // 25,000 running, three of them rejected: two early, one last, none in between.
  const rejected = new Set([10, 11, 24_999])
  app.service.workspaces.load(Array.from({ length: 25_000 }, (_, i) => {
    const leaf = `w${String(i).padStart(5, '0')}`
    return like(base, { name: `core/bulk/${leaf}`, repo: 'bulk', leaf, status: rejected.has(i) ? 'rejected' : 'running' })
  }))
  const pages: string[][] = []
  let cursor: string | null = null
  do {
    const q: string = cursor === null ? '' : `&cursor=${cursor}`
    const page = (await app.inject({ url: `/v1/workspaces?status=rejected&limit=2${q}` })).json()
    pages.push(page.items.map((w: Workspace) => w.name))
    cursor = page.next_cursor
  } while (cursor !== null)
  t.same(pages.flat(), ['core/bulk/w00010', 'core/bulk/w00011', 'core/bulk/w24999'], 'every match, in name order, none twice')
  t.ok(pages.length >= 3, `the 25,001 records took ${pages.length} pages of at most 10,000 examined`)
  t.ok(pages.some((p) => p.length === 0), 'a page may hold no match and still lead on')
  t.equal((await app.inject({ url: '/v1/workspaces?status=rejected&limit=1' })).json().items.length, 1, 'a page stops at its limit')
})
