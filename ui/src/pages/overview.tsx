/** The overview: pools and admission, counts, blocked questions, the outbox, the store and the last start-up, and the charts. */
import { ActionButton } from '../actions.js'
import { query } from '../api.js'
import { Badge, Countdown, Empty, Problem, Scroll, Section, When } from '../bits.js'
import { TimeChart } from '../chart.js'
import { useRead } from '../hooks.js'
import type { FinishedHour, Pool, PoolSeries, Readiness, Recovery, Status, SyncStatus } from '../types.js'
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
              path: `/v1/pools/${encodeURIComponent(p.pool)}/backoff`
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
            body: (v) => ({ seconds: Number(v.seconds), reason: v.reason })
          }}
        />
      </td>
    </tr>
  )
}

function Pools () {
  const { data, error } = useRead<{ items: Pool[] }>('/v1/pools')
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
          path: '/v1/reap'
        }}
      />
    </Section>
  )
}

const seconds = (iso: string): number => Date.parse(iso) / 1000

function Charts () {
  const running = useRead<PoolSeries>('/v1/stats/pools')
  const finished = useRead<{ items: FinishedHour[] }>('/v1/stats/finished')
  const hours = finished.data?.items ?? []
  // The last 24 whole hours and the current one, whatever hours had runs.
  const hourNow = Math.floor(Date.now() / 3_600_000) * 3600
  const day: [number, number] = [hourNow - 24 * 3600, hourNow + 3600]
  return (
    <Section title='Activity'>
      <Problem error={running.error ?? finished.error} />
      <div class='charts'>
        {running.data !== undefined && (
          <TimeChart
            label={`Running per pool, last 6 hours (most at once per ${running.data.step_s} s)`} stepped
            times={running.data.times.map(seconds)}
            series={Object.entries(running.data.pools).map(([label, values]) => ({ label, values }))}
          />
        )}
        {finished.data !== undefined && (hours.length === 0
          ? <Empty>No run finished in the last 24 hours.</Empty>
          : (
            <TimeChart
              label='Finished runs per hour, by outcome (last 24 hours)' span={day}
              times={hours.map((h) => seconds(h.hour))}
              series={(['completed', 'failed', 'reaped', 'other'] as const).map((k) => ({ label: k, values: hours.map((h) => h[k]) }))}
            />
            ))}
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
