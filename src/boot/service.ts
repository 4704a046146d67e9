/**
 * The plugin that exposes the composition root (store/service/service.ts) as `app.service` and ties its
 * lifecycle to Fastify's: start-up steps and background work on ready, leases from listen, the first phase
 * of shutdown before in-flight requests finish (claims and streams answered, timers stopped), the second
 * once none is left (buffers, analytics, then the store stored and closed).
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { Service, type ServiceDeps } from '../store/service/service.js'

declare module 'fastify' {
  interface FastifyInstance {
    service: Service
  }
}

export type ServiceOptions = Omit<ServiceDeps, 'log'> & { config: Config }

async function service (app: FastifyInstance, { config, ...deps }: ServiceOptions): Promise<void> {
  const s = new Service(config, { ...deps, log: app.log })
  app.decorate('service', s)
  app.addHook('onReady', () => s.start())
  app.addHook('onListen', async () => { s.listening() })
  app.addHook('preClose', () => s.stop())
  app.addHook('onClose', () => s.close())
}

export default fp(service, { name: 'service' })
