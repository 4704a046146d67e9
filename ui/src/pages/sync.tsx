/** The sync outbox: the queue in delivery order and the dead letters, which an admin can replay or drop. */
import { ActionButton } from '../actions.js'
import { Empty, Problem, Scroll, Section, When } from '../bits.js'
import { useRead } from '../hooks.js'
import type { SyncItem, SyncItemPage } from '../types.js'

function Items ({ items, dead }: { items: SyncItem[], dead: boolean }) {
  return (
    <Scroll label={dead ? 'Dead letters' : 'Queued items'}>
      <table class={dead ? 'dead' : 'outbox'}>
        <thead><tr><th scope='col'>Id</th><th scope='col'>Agent</th><th scope='col'>Queued</th><th scope='col'>Attempts</th><th scope='col'>{dead ? 'Error' : 'Next attempt / last error'}</th>{dead && <th scope='col'><span class='sr-only'>Actions</span></th>}</tr></thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id} data-id={i.id}>
              <th scope='row'><code>{i.id}</code></th>
              <td>{i.agent_id}</td>
              <td><When at={i.queued_at} /></td>
              <td class='num'>{i.attempts}</td>
              <td>{!dead && i.next_attempt_at !== null && <When at={i.next_attempt_at} />} <span class='reason'>{i.last_error}</span></td>
              {dead && (
                <td class='actions'>
                  <ActionButton
                    label='Replay' action={{
                      title: `Replay ${i.id}?`,
                      detail: 'It goes back to the tail of the queue with its attempts reset and the same id (the same Idempotency-Key upstream).',
                      method: 'POST',
                      path: `/v1/sync/dead/${encodeURIComponent(i.id)}/replay`,
                      done: `${i.id} is queued again.`
                    }}
                  />
                  <ActionButton
                    label='Drop' danger action={{
                      title: `Drop ${i.id}?`,
                      detail: 'The dead letter is deleted and never delivered. This cannot be undone.',
                      method: 'DELETE',
                      path: `/v1/sync/dead/${encodeURIComponent(i.id)}`,
                      done: `${i.id} is dropped.`
                    }}
                  />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  )
}

export function Sync () {
  const queue = useRead<SyncItemPage>('/v1/sync/queue?limit=200')
  const dead = useRead<SyncItemPage>('/v1/sync/dead?limit=200')
  return (
    <>
      <Section title='Sync queue'>
        <Problem error={queue.error} />
        {queue.data !== undefined && (queue.data.items.length === 0 ? <Empty>The outbox is empty.</Empty> : <Items items={queue.data.items} dead={false} />)}
      </Section>
      <Section title='Dead letters'>
        <Problem error={dead.error} />
        {dead.data !== undefined && (dead.data.items.length === 0 ? <Empty>No dead letters.</Empty> : <Items items={dead.data.items} dead />)}
      </Section>
    </>
  )
}
