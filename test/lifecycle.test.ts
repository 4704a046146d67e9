/** The lifecycle owner: start in registration order, stop and close in reverse, work placed before another. */
import t from 'tap'
import { Lifecycle } from '../src/store/service/lifecycle.js'

const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

t.test('work starts in order and stops and closes in reverse; work added before another stops after it', async (t) => {
  const seen: string[] = []
  const work = (name: string) => ({
    name,
    start: () => { seen.push(`start ${name}`) },
    stop: () => { seen.push(`stop ${name}`) },
    close: async () => { seen.push(`close ${name}`) }
  })
  const lifecycle = new Lifecycle(log)
  lifecycle.add(work('store'))
  lifecycle.add(work('claims'))
  lifecycle.add(work('sessions'), { before: 'claims' })
  t.same(lifecycle.names, ['store', 'sessions', 'claims'])
  t.throws(() => lifecycle.add(work('x'), { before: 'nothing' }), /no such work/)
  t.throws(() => lifecycle.add(work('claims')), /registered twice/)

  await lifecycle.start()
  t.throws(() => lifecycle.add(work('late'), { before: 'claims' }), /it has started/, 'nothing goes before work that runs')
  await lifecycle.stop()
  await lifecycle.close()
  t.same(seen, [
    'start store', 'start sessions', 'start claims',
    'stop claims', 'stop sessions', 'stop store',
    'close claims', 'close sessions', 'close store'
  ])
})
