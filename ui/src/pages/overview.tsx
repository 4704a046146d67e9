/** The overview: pools and admission, counts, blocked questions, the outbox, the store and the last start-up, and the charts. */
import { useState } from 'preact/hooks'
import { ActionButton } from '../actions.js'
import { query } from '../api.js'
import { Badge, Countdown, Empty, Problem, Scroll, Section, When } from '../bits.js'
import { TimeChart } from '../chart.js'
import { useRead } from '../hooks.js'
import type { Pool, PoolList, PoolSeries, ReapAnswer, Readiness, Recovery, RunStats, Status, SyncStatus } from '../types.js'
import { STATUSES } from '../types.js'

function PoolRow ({ p }: { p: Pool }) {
  const models = Object.entries(p.model_limits)
  return (
    <tr data-pool={p.pool}>
      <th scope='row'>{p.pool}</th>
      <td class='num'>
        <span class='running'>{p.running}</span> / {p.limit ?? '∞'}
        {models.length > 0 && (
          <ul class='models'>{models.map(([m, lim]) => <li key={m}>{m}: {p.running_by_model[m] ?? 0} / {lim}</li>)}</ul>
        )}
      </td>
      <td class='num'>{p.tracked}</td>
      <td class='num'>{p.daily.started} / {p.daily.limit ?? '∞'}<div class='muted small'>resets <When at={p.daily.resets_at} /></div></td>
      <td class='backoff'>
        {p.backoff_until === null
          ? <span class='muted'>none{p.fail_count > 0 ? ` (${p.fail_count} fast failures)` : ''}</span>
          : <><Countdown until={p.backoff_until} /><div class='reason'>{p.backoff_reason}</div></>}
      </td>
      <td>{p.admissible ? <Badge kind='yes'>admissible</Badge> : p.reasons.map((r) => <Badge key={r} kind='no'>{r}</Badge>)}</td>
      <td class='actions'>
        {p.backoff_until !== null && (
          <ActionButton
            label='Clear backoff' action={{
              title: `Clear the backoff of ${p.pool}?`,
              detail: 'The pool takes work again at once and its fail count restarts from zero. The event names your token.',
              method: 'DELETE',
              path: `/v1/pools/${encodeURIComponent(p.pool)}/backoff`,
              done: `The backoff of ${p.pool} is cleared.`
            }}
          />
        )}
        <ActionButton
          label='Set backoff' danger action={{
            title: `Back ${p.pool} off?`,
            detail: 'Nothing of this pool is admitted until the backoff ends or is cleared.',
            method: 'PUT',
            path: `/v1/pools/${encodeURIComponent(p.pool)}/backoff`,
            fields: [{ name: 'seconds', label: 'For how many seconds', type: 'number', value: '1800' }, { name: 'reason', label: 'Reason', type: 'text', value: '' }],
            body: (v) => ({ seconds: Number(v.seconds), reason: v.reason }),
            done: (answer) => `${p.pool} takes no work until ${new Date(String((answer as Pool).backoff_until)).toLocaleString()}.`
          }}
        />
      </td>
    </tr>
  )
}

function Pools () {
  const { data, error } = useRead<PoolList>('/v1/pools')
  return (
    <Section title='Pools'>
      <Problem error={error} />
      {data !== undefined && (data.items.length === 0
        ? <Empty>No pool is configured, tracked or backed off.</Empty>
        : (
          <Scroll label='Pools'>
            <table class='pools'>
              <thead><tr><th scope='col'>Pool</th><th scope='col'>Running / limit</th><th scope='col'>Tracked</th><th scope='col'>Today / budget</th><th scope='col'>Backoff</th><th scope='col'>Admission</th><th scope='col'><span class='sr-only'>Actions</span></th></tr></thead>
              <tbody>{data.items.map((p) => <PoolRow key={p.pool} p={p} />)}</tbody>
            </table>
          </Scroll>
          ))}
    </Section>
  )
}

function Counts () {
  const { data, error } = useRead<Status>('/v1/status')
  return (
    <Section title='Workspaces by status'>
      <Problem error={error} />
      {data !== undefined && (
        <>
          <ul class='counts' aria-label='Counts by status'>
            <li><a href='#/workspaces'><span class='count' data-status='total'>{data.total}</span> total</a></li>
            {STATUSES.map((s) => (
              <li key={s}><a href={`#/workspaces${query({ status: s })}`}><span class='count' data-status={s}>{data.by_status[s] ?? 0}</span> {s}</a></li>
            ))}
          </ul>
          <h3>Blocked</h3>
          {data.blocked.length === 0
            ? <Empty>Nothing is blocked.</Empty>
            : (
              <ul class='blocked'>
                {data.blocked.map((b) => (
                  <li key={b.name}><a href={`#/workspace/${b.name}`}>{b.name}</a> <span class='muted'>{b.agent}</span><blockquote>{b.question}</blockquote></li>
                ))}
              </ul>
              )}
          {data.blocked.length < data.blocked_total && (
            <p class='blocked-more'>The {data.blocked.length} most recent of {data.blocked_total}: <a href={`#/workspaces${query({ status: 'blocked' })}`}>all blocked workspaces</a></p>
          )}
        </>
      )}
    </Section>
  )
}

function Outbox () {
  const { data, error } = useRead<SyncStatus>('/v1/sync/status')
  return (
    <Section title='Sync outbox'>
      <Problem error={error} />
      {data !== undefined && (
        <dl class='facts'>
          <dt>Queued</dt><dd class='num' data-fact='queued'>{data.queued}</dd>
          <dt>Dead letters</dt><dd class='num' data-fact='dead'>{data.dead > 0 ? <a href='#/sync'>{data.dead}</a> : 0}</dd>
          <dt>Last delivery</dt><dd><When at={data.last_push_at} /></dd>
          <dt>Last error</dt><dd>{data.last_error ?? <span class='muted'>none</span>}</dd>
          <dt>Upstream</dt><dd>{data.upstream_configured ? 'configured' : <span class='muted'>not configured (items wait)</span>}</dd>
        </dl>
      )}
    </Section>
  )
}

function Store () {
  const ready = useRead<Readiness>('/readyz')
  const report = useRead<Recovery>('/v1/recovery')
  const r = report.data
  return (
    <Section title='Store and last start-up'>
      <Problem error={ready.error ?? report.error} />
      {ready.data !== undefined && (
        <p>Store: <Badge kind={ready.data.store === 'ok' ? 'yes' : 'no'}>{ready.data.store}</Badge>
          {ready.data.error !== undefined && <span class='reason'> {ready.data.error}</span>}
          {ready.data.config_error !== undefined && <span class='reason'> agents.yaml refused: {ready.data.config_error}</span>}
        </p>
      )}
      {r !== undefined && (
        <>
          <dl class='facts'>
            <dt>Started</dt><dd><When at={r.started_at} /></dd>
            <dt>Hydrated</dt><dd>{r.hydrated.from_store} from the store, {r.hydrated.from_queue} from the queue, {r.hydrated.from_files} of {r.hydrated.files_read} files</dd>
            <dt>Invalid files</dt><dd>{r.hydrated.files_invalid.length}</dd>
            <dt>Orphan buffers</dt><dd>{r.orphans.skipped ?? `${r.orphans.outcomes.length}`}</dd>
            <dt>Took</dt><dd>{Object.entries(r.timings_ms).map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ')}</dd>
          </dl>
          <h3>Ghosts reaped at start-up</h3>
          {r.reaped.length === 0
            ? <Empty>None.</Empty>
            : <ul>{r.reaped.map((g) => <li key={g.name}><a href={`#/workspace/${g.name}`}>{g.name}</a>: {g.reason} <span class='muted'>({g.evidence})</span></li>)}</ul>}
          {r.hydrated.files_invalid.length > 0 && <ul>{r.hydrated.files_invalid.map((f) => <li key={f.path}><code>{f.path}</code>: {f.error}</li>)}</ul>}
          {r.orphans.outcomes.length > 0 && <ul>{r.orphans.outcomes.map((o) => <li key={o.file}><code>{o.file}</code>: {o.outcome}{o.detail !== undefined && <span class='muted'> ({o.detail})</span>}</li>)}</ul>}
        </>
      )}
      <ActionButton
        label='Reap now' danger action={{
          title: 'Run the reaper now?',
          detail: 'Every running workspace whose process is gone or whose lease ran out is failed, with its evidence.',
          method: 'POST',
          path: '/v1/reap',
          done: (answer) => {
            const { reaped } = answer as ReapAnswer
            return reaped.length === 0 ? 'Nothing to reap: every running workspace is alive.' : `Reaped ${reaped.length}: ${reaped.map((g) => `${g.name} (${g.reason})`).join(', ')}.`
          }
        }}
      />
    </Section>
  )
}

const HOUR_S = 3600
// Charts read again at most this often: each read of the series scans the stored event log.
const CHART_SETTLE_MS = 10_000
// Running per pool: from the oldest stored event, over at most the last 6 hours and at least 2 minutes.
const RUNNING_MAX_S = 6 * HOUR_S
const RUNNING_MIN_S = 120
// As the service cuts a window by default: 360 buckets, none shorter than 10 s.
const BUCKETS = 360
const MIN_STEP_S = 10
// Finished per hour: whole hours from the first one with data, at most the last 24 and at least 3.
const HOURS_MAX = 24
const HOURS_MIN = 3

const seconds = (iso: string): number => Date.parse(iso) / 1000
const isoOf = (s: number): string => new Date(s * 1000).toISOString()
const clock = (s: number): string => new Date(s * 1000).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' })

/**
 * The series to ask for, for a service whose stored events begin at `origin` (seconds; null: none, or not known
 * yet): the service's default window (the last 6 hours) once it is that old, else from its first event on.
 */
function runningPath (origin: number | null, now: number): string {
  if (origin === null || now - origin >= RUNNING_MAX_S) return '/v1/stats/pools'
  const span = Math.max(now - origin, RUNNING_MIN_S)
  const step = Math.max(MIN_STEP_S, Math.ceil(span / BUCKETS / MIN_STEP_S) * MIN_STEP_S)
  return `/v1/stats/pools${query({ since: isoOf(Math.floor(origin / step) * step), step_s: step })}`
}

function Running ({ data }: { data: PoolSeries }) {
  const since = seconds(data.since)
  const until = seconds(data.until)
  // Each bucket holds its level until the next; the last one holds until now.
  const times = [...data.times.map(seconds), until]
  const series = Object.entries(data.pools).map(([label, values]) => ({ label, values: [...values, values[values.length - 1] ?? 0] }))
  return (
    <TimeChart
      label={`Running per pool since ${clock(since)} (most at once per ${data.step_s} s)`} kind='steps'
      times={times} series={series} range={[since, Math.max(until, since + RUNNING_MIN_S)]}
    />
  )
}

const OUTCOMES = ['completed', 'failed', 'reaped', 'other'] as const

/** Finished runs per hour as bars, from the first hour the service has data for (`origin`) or a run ended in. */
function Finished ({ data, origin }: { data: RunStats, origin: number | null }) {
  const hourNow = Math.floor(Date.now() / 1000 / HOUR_S) * HOUR_S
  const byHour = new Map(data.groups.map((g) => [seconds(g.key), g]))
  const first = Math.min(origin ?? Infinity, ...byHour.keys())
  if (first === Infinity) return <Empty>No run has finished yet.</Empty>
  const start = Math.max(hourNow - (HOURS_MAX - 1) * HOUR_S, Math.floor(first / HOUR_S) * HOUR_S)
  const end = Math.max(hourNow, start + (HOURS_MIN - 1) * HOUR_S) + HOUR_S
  const hours = Array.from({ length: (end - start) / HOUR_S }, (_, i) => start + i * HOUR_S)
  return (
    <TimeChart
      label={`Finished runs per hour since ${clock(start)}, by outcome`} kind='bars' range={[start, end]}
      times={hours.map((h) => h + HOUR_S / 2)}
      series={OUTCOMES.map((k) => ({ label: k, values: hours.map((h) => byHour.get(h)?.[k] ?? null) }))}
    />
  )
}

function Charts () {
  // When the stored events begin: unknown (undefined) until the first answer says.
  const [origin, setOrigin] = useState<number | null | undefined>(undefined)
  const now = Date.now() / 1000
  const running = useRead<PoolSeries>(runningPath(origin ?? null, now), CHART_SETTLE_MS)
  const first = running.data?.first_event_at
  const known = first === undefined ? undefined : first === null ? null : seconds(first)
  if (known !== undefined && known !== origin) setOrigin(known)
  // The first answer (the default 6 hours) says how old the service is; if younger, the chart waits for its own.
  const drawn = running.from !== '/v1/stats/pools' || runningPath(known ?? null, now) === '/v1/stats/pools'
  const hourNow = Math.floor(now / HOUR_S) * HOUR_S
  const runs = useRead<RunStats>(`/v1/stats/runs${query({ by: 'hour', since: isoOf(hourNow - (HOURS_MAX - 1) * HOUR_S) })}`, CHART_SETTLE_MS)
  return (
    <Section title='Activity'>
      <Problem error={running.error ?? runs.error} />
      <div class='charts'>
        {running.data !== undefined && drawn && (running.data.first_event_at === null ? <Empty>Nothing has happened yet.</Empty> : <Running data={running.data} />)}
        {runs.data !== undefined && <Finished data={runs.data} origin={origin ?? null} />}
      </div>
    </Section>
  )
}

export function Overview () {
  return (
    <div class='grid'>
      <Pools />
      <Counts />
      <Charts />
      <Outbox />
      <Store />
    </div>
  )
}
