/** The queue in drain order, with why each item can or cannot be claimed now. */
import { Badge, Empty, Problem, Scroll, Section, When } from '../bits.js'
import { useRead } from '../hooks.js'
import type { QueuePage } from '../types.js'

export function Queue () {
  const { data, error } = useRead<QueuePage>('/v1/queue?limit=1000')
  return (
    <Section title='Queue (drain order)'>
      <Problem error={error} />
      {data !== undefined && (data.items.length === 0
        ? <Empty>Nothing is queued.</Empty>
        : (
          <Scroll label='Queue'>
            <table class='queue'>
              <thead><tr><th scope='col'>#</th><th scope='col'>Name</th><th scope='col'>Agent</th><th scope='col'>Priority</th><th scope='col'>Queued</th><th scope='col'>Admission</th></tr></thead>
              <tbody>
                {data.items.map((q, i) => (
                  <tr key={q.workspace.name} data-name={q.workspace.name}>
                    <td class='num'>{i + 1}</td>
                    <th scope='row'><a href={`#/workspace/${q.workspace.name}`}>{q.workspace.name}</a></th>
                    <td>{q.workspace.agent}</td>
                    <td class='num'>{q.workspace.priority}</td>
                    <td><When at={q.workspace.queued_at} /></td>
                    <td>{q.admissible ? <Badge kind='yes'>admissible</Badge> : q.reasons.map((r) => <Badge key={r} kind='no'>{r}</Badge>)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
          ))}
      {data?.next_cursor != null && <p class='muted'>The first 1,000 are shown.</p>}
    </Section>
  )
}
