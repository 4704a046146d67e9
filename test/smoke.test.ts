import t from 'tap'
import { build, put, report } from './helper.js'

t.test('a workspace round-trips', async (t) => {
  const { app } = await build(t)
  const res = await put(app, 'core/go-io/task-5', report())
  t.equal(res.statusCode, 201)
  const got = await app.inject({ url: '/v1/workspaces/core/go-io/task-5' })
  t.equal(got.json().status, 'running')
})
