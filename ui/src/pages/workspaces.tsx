/** The workspace list with the API's filters and cursor paging, and one workspace's record and history. */
import { Fragment } from 'preact'
import { useState } from 'preact/hooks'
import { query, workspacePath } from '../api.js'
import { Empty, Problem, Scroll, Section, Since, span, StatusBadge, When, Wrap } from '../bits.js'
import { useRead } from '../hooks.js'
import type { EventPage, Workspace, WorkspacePage } from '../types.js'
import { STATUSES } from '../types.js'

const FILTERS = ['status', 'pool', 'agent', 'org', 'repo'] as const
type Filters = Partial<Record<typeof FILTERS[number], string>>
const PAGE_SIZE = 50

/** Why a workspace is where it is: the question of a blocked or failed one, the reaper's verdict, or its note. */
function Why ({ w }: { w: Workspace }) {
  const [label, text] =
    w.status === 'blocked' && w.question !== undefined
      ? ['Question', w.question]
      : w.status === 'failed' && w.question !== undefined
        ? ['Reason', w.question]
        : w.status === 'failed' && w.reaped !== undefined
          ? ['Reaped', `${w.reaped.reason}: ${w.reaped.evidence}`]
          : w.note !== undefined && w.note !== ''
            ? ['Note', w.note]
            : [null, null]
  if (label === null) return null
  return <p class={`why why-${label.toLowerCase()}`}><span class='why-label'>{label}</span> {text}</p>
}

/** How long it has been where it is: running or queued since when, ticking; otherwise how long its run took. */
function Took ({ w }: { w: Workspace }) {
  if (w.status === 'running') return <span class='took' title={`running since ${w.started_at}`}>for <Since at={w.started_at} /></span>
  if (w.status === 'queued') return <span class='took' title={`queued since ${w.queued_at ?? w.started_at}`}>for <Since at={w.queued_at ?? w.started_at} /></span>
  return <span class='took' title={`${w.started_at} → ${w.updated_at}`}>ran {span(Date.parse(w.updated_at) - Date.parse(w.started_at))}</span>
}

/** Filters live in the hash (`#/workspaces?status=running`), so a filtered view can be linked and reloaded. */
function filtersOf (hashQuery: string): Filters {
  const q = new URLSearchParams(hashQuery)
  return Object.fromEntries(FILTERS.flatMap((f) => { const v = q.get(f); return v === null || v === '' ? [] : [[f, v]] }))
}

export function Workspaces ({ hashQuery }: { hashQuery: string }) {
  const filters = filtersOf(hashQuery)
  // The cursors of the pages before this one: "previous" pops, "next" pushes.
  const [cursors, setCursors] = useState<string[]>([])
  const [filterKey, setFilterKey] = useState(hashQuery)
  if (filterKey !== hashQuery) { setFilterKey(hashQuery); setCursors([]) }
  const cursor = cursors[cursors.length - 1]
  const { data, error } = useRead<WorkspacePage>(`/v1/workspaces${query({ ...filters, limit: PAGE_SIZE, cursor })}`)

  const apply = (e: Event) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    location.hash = `#/workspaces${query(Object.fromEntries(FILTERS.map((f) => [f, String(form.get(f) ?? '')])))}`
  }

  return (
    <Section title='Workspaces'>
      <form class='filters' onSubmit={apply} aria-label='Filter workspaces'>
        <label>Status
          <select name='status' value={filters.status ?? ''}>
            <option value=''>any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        {(['pool', 'agent', 'org', 'repo'] as const).map((f) => (
          <label key={f}>{f[0]?.toUpperCase() + f.slice(1)}<input name={f} value={filters[f] ?? ''} size={12} /></label>
        ))}
        <button type='submit'>Filter</button>
        <a href='#/workspaces'>Clear</a>
      </form>
      <Problem error={error} />
      {data !== undefined && (data.items.length === 0
        ? <Empty>No workspace matches.</Empty>
        : (
          <Scroll label='Workspace list'>
            <table class='workspaces'>
              <thead><tr><th scope='col'>Workspace</th><th scope='col'>Status</th><th scope='col'>Agent, host</th><th scope='col' class='wide'>Runs</th><th scope='col' class='wide'>Updated</th></tr></thead>
              <tbody>
                {data.items.map((w) => (
                  <tr key={w.name} data-name={w.name}>
                    <th scope='row'>
                      <a href={`#/workspace/${w.name}`}><Wrap text={w.name} /></a>
                      {w.task !== '' && <div class='task' title={w.task}>{w.task}</div>}
                      <Why w={w} />
                    </th>
                    <td><StatusBadge status={w.status} /><div><Took w={w} /></div></td>
                    <td class='agent'><Wrap text={w.agent} /><div class='host'>{w.host ?? <span class='muted' title="none reported: the service's own host">local</span>}</div></td>
                    <td class='num wide'>{w.runs}</td>
                    <td class='wide'><When at={w.updated_at} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
          ))}
      <nav class='pager' aria-label='Pages'>
        <button type='button' disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>← Previous</button>
        <span class='muted'>page {cursors.length + 1}</span>
        <button type='button' disabled={data?.next_cursor == null} onClick={() => data?.next_cursor != null && setCursors([...cursors, data.next_cursor])}>Next →</button>
      </nav>
    </Section>
  )
}

const FIELDS: Array<keyof Workspace> = ['status', 'agent', 'pool', 'runs', 'priority', 'task', 'question', 'branch', 'issue', 'pr_url', 'host', 'pid', 'pid_started_at', 'process_id', 'runtime', 'note', 'started_at', 'queued_at', 'updated_at', 'heartbeat_at']

export function WorkspaceDetail ({ name }: { name: string }) {
  const record = useRead<Workspace>(`/v1/workspaces/${workspacePath(name)}`)
  const history = useRead<EventPage>(`/v1/events/log${query({ subject: name, type: 'workspace', limit: 200 })}`)
  const w = record.data
  return (
    <>
      <Section title={name} id='h-workspace'>
        <p><a href='#/workspaces'>← all workspaces</a> · <a href={`#/journal${query({ workspace: name })}`}>journal</a></p>
        <Problem error={record.error} />
        {w !== undefined && (
          <dl class='facts record'>
            {FIELDS.filter((f) => w[f] !== undefined && w[f] !== '').map((f) => (
              <Fragment key={f}>
                <dt>{f}</dt>
                <dd>{f === 'status' ? <StatusBadge status={w.status} /> : f.endsWith('_at') ? <When at={String(w[f])} /> : String(w[f])}</dd>
              </Fragment>
            ))}
            {w.reaped !== undefined && <><dt>reaped</dt><dd>{w.reaped.reason}: {w.reaped.evidence} (<When at={w.reaped.at} />)</dd></>}
          </dl>
        )}
      </Section>
      <Section title='History'>
        <Problem error={history.error} />
        {history.data !== undefined && (history.data.items.length === 0
          ? <Empty>No stored events.</Empty>
          : (
            <Scroll label='History'>
              <table class='history'>
                <thead><tr><th scope='col'>When</th><th scope='col'>Action</th><th scope='col'>Status</th><th scope='col'>Runs</th><th scope='col'>Detail</th></tr></thead>
                <tbody>
                  {history.data.items.map((e) => {
                    const { action, status, runs, ...rest } = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Record<string, unknown>
                    return (
                      <tr key={e.id}>
                        <td><When at={e.at} /></td>
                        <td>{String(action ?? '')}</td>
                        <td>{status === undefined ? '' : <StatusBadge status={String(status)} />}</td>
                        <td class='num'>{runs === undefined ? '' : String(runs)}</td>
                        <td class='muted'>{Object.entries(rest).map(([k, v]) => `${k}: ${String(v)}`).join(', ')}</td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </Scroll>
            ))}
      </Section>
    </>
  )
}
