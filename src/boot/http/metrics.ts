/**
 * Prometheus metrics (API §9): decorates `metrics`, this app's registry. Requests are counted and timed
 * in onResponse; the state gauges read `app.service` when scraped, so they can never drift from what the
 * API answers; reaped ghosts and orphan outcomes are counted from the event log, which records both.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type GaugeConfiguration } from 'prom-client'
import { ORPHAN_OUTCOMES } from '../../store/startup/report.js'
import { REAP_REASONS } from '../../store/workspaces/model.js'
import { packageInfo } from '../../shared/package-info.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry
  }
}

const PREFIX = 'agent_state_'

// Requests take about a millisecond; the upper buckets catch a store that stalls.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

let processRegistry: Registry | undefined

// prom-client exports these gauges with a `_total` suffix, which Prometheus reserves for counters; the
// same counts stay available, by type, as nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
const MISNAMED_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/**
 * CPU, memory, event-loop lag, GC: they describe the process, not an app, so they live in one registry per
 * process. Each collectDefaultMetrics call starts an event-loop monitor and a GC observer that are never
 * stopped; tests build many apps in one process, and one each would pile up. No prefix: stock Node.js
 * dashboards and alerts look for `process_*` and `nodejs_*` under exactly these names.
 */
function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
    for (const name of MISNAMED_GAUGES) processRegistry.removeSingleMetric(name)
  }
  return processRegistry
}

async function metrics (app: FastifyInstance): Promise<void> {
  const { service } = app
  const registry = new Registry()
  const registers = [registry]

  /** A gauge in this app's registry, computed when scraped. */
  const gauge = <L extends string>(config: GaugeConfiguration<L>) => new Gauge({ ...config, registers })

  const labelNames = ['method', 'route', 'status_code'] as const
  const requests = new Counter({ name: `${PREFIX}http_requests_total`, help: 'HTTP requests answered, by method, route pattern and status code.', labelNames, registers })
  const latency = new Histogram({ name: `${PREFIX}http_request_duration_seconds`, help: 'Time from receiving a request to the end of its answer, by method, route pattern and status code.', labelNames, buckets: LATENCY_BUCKETS, registers })
  // Synchronous: a promise per request is a cost every answer would pay.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the URL: a URL per workspace (or per scanner's guess, for a 404) would be a series each.
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }
    requests.inc(labels)
    latency.observe(labels, reply.elapsedTime / 1000)
    done()
  })

  gauge({ name: `${PREFIX}build_info`, help: 'Always 1; the labels say which build is running.', labelNames: ['version', 'nodejs_version'] })
    .set({ version: packageInfo.version, nodejs_version: process.versions.node }, 1)

  const ghosts = new Counter({ name: `${PREFIX}ghosts_reaped_total`, help: 'Running workspaces the reaper failed, by reason (start-up and every later pass).', labelNames: ['reason'], registers })
  const orphans = new Counter({ name: `${PREFIX}orphan_buffers_total`, help: 'Buffer files left by an earlier process, by what recovery did with them.', labelNames: ['outcome'], registers })
  // Every label value a counter can take starts at 0, so a first ghost shows as an increase, not a new series.
  for (const reason of REAP_REASONS) ghosts.inc({ reason }, 0)
  for (const outcome of ORPHAN_OUTCOMES) orphans.inc({ outcome }, 0)
  // With the queue depth, tells a draining outbox from a stuck one (the depth alone also rises under load).
  const delivered = new Counter({ name: `${PREFIX}sync_delivered_total`, help: 'Dispatch reports the upstream API accepted.', registers })
  // Listening from registration on: the start-up steps run in onReady, later, so their events are counted too.
  service.events.on('event', (e) => {
    if (e.type === 'workspace' && e.data.action === 'reaped') ghosts.inc({ reason: e.data.reason })
    if (e.type === 'buffer' && e.data.action === 'recovered') orphans.inc({ outcome: e.data.outcome })
    if (e.type === 'sync' && e.data.action === 'delivered') delivered.inc()
  })

  gauge({
    name: `${PREFIX}workspaces`,
    help: 'Tracked workspaces by status.',
    labelNames: ['status'],
    collect () {
      for (const [status, n] of Object.entries(service.workspaces.counts().by_status)) this.set({ status }, n)
    }
  })

  const poolViews = () => service.pools.views(service.clock())
  /** A per-pool gauge; reset at each scrape so a pool that is gone leaves no stale series. */
  const poolGauge = (name: string, help: string, value: (v: ReturnType<typeof poolViews>[number]) => number | null) => gauge({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['pool'],
    collect () {
      this.reset()
      for (const v of poolViews()) {
        const n = value(v)
        if (n !== null) this.set({ pool: v.pool }, n)
      }
    }
  })
  poolGauge('pool_running', 'Running workspaces per pool.', (v) => v.running)
  poolGauge('pool_tracked', 'Tracked workspaces per pool, whatever their status.', (v) => v.tracked)
  poolGauge('pool_limit', 'The pool total from the configuration; no series for an unlimited pool.', (v) => v.limit)
  poolGauge('pool_backoff_active', '1 while the pool is backed off, else 0.', (v) => v.backoff_until === null ? 0 : 1)
  // Not `_fail_count`: a `_count` suffix belongs to histogram and summary series.
  poolGauge('pool_fast_failures', 'Fast failures in a row counting towards an automatic backoff.', (v) => v.fail_count)

  gauge({
    name: `${PREFIX}sync_queue_depth`,
    help: 'Dispatch reports waiting in the sync outbox.',
    collect () { this.set(service.sync.queue.status().queued) }
  })
  gauge({
    name: `${PREFIX}sync_dead_letters`,
    help: 'Dispatch reports that ran out of attempts and wait for a replay or a drop.',
    collect () { this.set(service.sync.queue.status().dead) }
  })
  gauge({
    name: `${PREFIX}claim_waiters`,
    help: 'Claims waiting for work now (wait_s, REST and MCP alike; at most CLAIM_WAITERS_MAX).',
    collect () { this.set(service.claims.waiting) }
  })
  gauge({
    name: `${PREFIX}store_up`,
    help: '1 while the DuckDB store takes writes, 0 while degraded (serving from memory).',
    collect () { this.set(service.handle.mode === 'ok' ? 1 : 0) }
  })

  app.decorate('metrics', Registry.merge([registry, processMetrics()]))
}

export default fp(metrics, { name: 'metrics', dependencies: ['service'] })
