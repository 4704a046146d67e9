/** QA buffers and the journal (API §7): decorates `buffers` and `journal`; in onReady, after the store is hydrated, loads the journal. */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Buffers } from '../store/buffers.js'
import { Journal, readJournal } from '../store/journal.js'

declare module 'fastify' {
  interface FastifyInstance {
    buffers: Buffers
    journal: Journal
  }
}

export interface BuffersOptions {
  dataDir: string
}

async function buffers (app: FastifyInstance, { dataDir }: BuffersOptions): Promise<void> {
  const { state } = app
  const journal = new Journal()
  const open = new Buffers({ dataDir, writer: state.writer, events: state.events, journal, clock: state.clock, log: app.log })
  app.decorate('journal', journal)
  app.decorate('buffers', open)

  app.addHook('onReady', async () => {
    const { db, recovery } = state
    if (db !== null) await recovery.step('hydrate_journal', async () => journal.load(await readJournal(db)))
  })

  app.addHook('onClose', async () => {
    await open.closeAll()
  })
}

export default fp(buffers, { name: 'buffers', dependencies: ['store', 'lifecycle'] })
