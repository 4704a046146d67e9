/** The live tail: the newest stored events, then each new one as the stream delivers it, filtered by type. */
import { useEffect, useState } from 'preact/hooks'
import { getJson, query } from '../api.js'
import { Empty, Problem, Scroll, Section, When } from '../bits.js'
import { useLive } from '../hooks.js'
import type { ChangeEvent, EventPage } from '../types.js'
import { EVENT_TYPES } from '../types.js'

// The tail keeps this many rows; older ones are in the store (GET /v1/events/log pages further back).
const KEEP = 300

function subjectLink (e: ChangeEvent) {
  return e.type === 'workspace' ? <a href={`#/workspace/${e.subject}`}>{e.subject}</a> : e.subject
}

export function Events () {
  const live = useLive()
  const [types, setTypes] = useState<string[]>(EVENT_TYPES)
  const [rows, setRows] = useState<ChangeEvent[]>([])
  const [error, setError] = useState<Error | null>(null)

  useEffect(() => {
    let current = true
    // Live events that arrive while the backlog loads are merged by id, so none is shown twice or lost.
    const seen = new Map<number, ChangeEvent>()
    const show = () => setRows([...seen.values()].sort((a, b) => b.id - a.id).slice(0, KEEP))
    const off = live.onEvent((e) => { if (types.includes(e.type)) { seen.set(e.id, e); if (current) show() } })
    getJson<EventPage>(`/v1/events/log${query({ type: types.join(','), limit: 100 })}`).then(
      (page) => { for (const e of page.items) seen.set(e.id, e); if (current) { setError(null); show() } },
      (err: Error) => { if (current) setError(err) }
    )
    return () => { current = false; off() }
  }, [types.join(',')])

  const toggle = (t: string) => setTypes(types.includes(t) ? types.filter((x) => x !== t) : [...types, t])

  return (
    <Section title='Events (live)'>
      <fieldset class='types'>
        <legend>Types</legend>
        {EVENT_TYPES.map((t) => (
          <label key={t}><input type='checkbox' name='type' value={t} checked={types.includes(t)} onChange={() => toggle(t)} /> {t}</label>
        ))}
      </fieldset>
      <Problem error={error} />
      {types.length === 0
        ? <Empty>Choose at least one type.</Empty>
        : rows.length === 0
          ? <Empty>No events yet.</Empty>
          : (
            <Scroll label='Events'>
              <table class='events'>
                <thead><tr><th scope='col'>When</th><th scope='col'>Type</th><th scope='col'>Subject</th><th scope='col'>Data</th></tr></thead>
                <tbody>
                  {rows.map((e) => (
                    <tr key={e.id} data-id={e.id} data-type={e.type}>
                      <td><When at={e.at} /></td>
                      <td>{e.type}</td>
                      <td>{subjectLink(e)}</td>
                      <td class='data'><code>{JSON.stringify(e.data)}</code></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
            )}
    </Section>
  )
}
