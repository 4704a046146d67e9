/** The QA journal: committed cycles, and for one workspace the diff of its latest cycle (new, resolved, persistent). */
import { query } from '../api.js'
import { Empty, Problem, Scroll, Section, When } from '../bits.js'
import { useRead } from '../hooks.js'
import type { JournalDiff, JournalPage } from '../types.js'

const findingKey = (f: Record<string, unknown>): string => ['tool', 'file', 'line', 'code'].map((k) => String(f[k] ?? '')).join('|')

function Findings ({ title, items }: { title: string, items: Array<Record<string, unknown>> }) {
  return (
    <div class={`findings findings-${title}`}>
      <h3>{title} <span class='muted'>({items.length})</span></h3>
      {items.length === 0
        ? <Empty>None.</Empty>
        : (
          <ul>{items.map((f) => <li key={findingKey(f)}><code>{String(f.tool ?? '')}</code> {String(f.file ?? '')}:{String(f.line ?? '')} <strong>{String(f.code ?? f.rule_id ?? '')}</strong> <span class='muted'>{String(f.message ?? '')}</span></li>)}</ul>
          )}
    </div>
  )
}

export function Journal ({ hashQuery }: { hashQuery: string }) {
  const workspace = new URLSearchParams(hashQuery).get('workspace') ?? ''
  const rows = useRead<JournalPage>(`/v1/journal${query({ workspace, limit: 50 })}`)
  const diff = useRead<JournalDiff>(workspace === '' ? null : `/v1/journal/diff${query({ workspace })}`)

  const pick = (e: Event) => {
    e.preventDefault()
    const value = String(new FormData(e.currentTarget as HTMLFormElement).get('workspace') ?? '')
    location.hash = `#/journal${query({ workspace: value })}`
  }

  return (
    <>
      <Section title='Journal'>
        <form class='filters' onSubmit={pick} aria-label='Choose a workspace'>
          <label>Workspace<input name='workspace' value={workspace} placeholder='org/repo/leaf' size={30} /></label>
          <button type='submit'>Show</button>
          {workspace !== '' && <a href='#/journal'>All workspaces</a>}
        </form>
        <Problem error={rows.error} />
        {rows.data !== undefined && (rows.data.items.length === 0
          ? <Empty>No committed cycles.</Empty>
          : (
            <Scroll label='Committed cycles'>
              <table class='journal'>
                <thead><tr><th scope='col'>Id</th><th scope='col'>Workspace</th><th scope='col'>Buffer</th><th scope='col'>Committed</th><th scope='col'>Aggregate</th><th scope='col'>Findings</th></tr></thead>
                <tbody>
                  {rows.data.items.map((r) => (
                    <tr key={r.id}>
                      <td class='num'>{r.id}</td>
                      <th scope='row'><a href={`#/journal${query({ workspace: r.tags.workspace })}`}>{r.tags.workspace}</a></th>
                      <td>{r.measurement}</td>
                      <td><When at={r.committed_at} /></td>
                      <td>{Object.entries(r.fields.aggregate).map(([k, n]) => `${k}: ${n}`).join(', ')}</td>
                      <td class='num'>{r.fields.findings.length}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
            ))}
      </Section>
      {workspace !== '' && (
        <Section title='Latest cycle against the ones before'>
          <Problem error={diff.error} />
          {diff.data !== undefined && (
            <>
              <p class='muted'>Comparing {diff.data.cycles.length} cycle(s): {diff.data.cycles.map((c) => c.measurement + ' #' + c.id).join(', ')}</p>
              <div class='diff'>
                <Findings title='new' items={diff.data.new} />
                <Findings title='resolved' items={diff.data.resolved} />
                <Findings title='persistent' items={diff.data.persistent} />
              </div>
            </>
          )}
        </Section>
      )}
    </>
  )
}
