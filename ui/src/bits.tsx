/** Small pieces the pages share: times, countdowns, badges, a problem note. */
import { Fragment, type ComponentChildren } from 'preact'
import { useNow } from './hooks.js'

/** A time as the reader's local clock shows it, with the exact UTC value on hover. */
export function When ({ at }: { at: string | null | undefined }) {
  if (at === null || at === undefined) return <span class='muted'>–</span>
  const d = new Date(at)
  return <time dateTime={at} title={at}>{d.toLocaleString()}</time>
}

/** A length of time, to the second under an hour, to the minute under a day, else to the hour: `42s`, `3m 07s`, `2h 05m`, `3d 04h`. */
export function span (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const two = (n: number) => String(n).padStart(2, '0')
  if (d > 0) return `${d}d ${two(h)}h`
  if (h > 0) return `${h}h ${two(m)}m`
  return m > 0 ? `${m}m ${two(s % 60)}s` : `${s}s`
}

/** Time since `at`, ticking. */
export function Since ({ at }: { at: string }) {
  const now = useNow()
  return <>{span(now - Date.parse(at))}</>
}

/** Time left until `until`, ticking. */
export function Countdown ({ until }: { until: string }) {
  const now = useNow()
  const left = Date.parse(until) - now
  return <span class='countdown' title={until}>{left > 0 ? `${span(left)} left` : 'expired'}</span>
}

/** A name that may wrap after each `/` or `:` (`core/go-io/task-1`, `codex:gpt-5.4`), never inside a part. */
export function Wrap ({ text }: { text: string }) {
  return <>{text.split(/(?<=[/:])/).map((part, i) => <Fragment key={i}>{i > 0 && <wbr />}{part}</Fragment>)}</>
}

export function Badge ({ kind, children }: { kind: string, children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>
}

export function StatusBadge ({ status }: { status: string }) {
  return <Badge kind={status}>{status}</Badge>
}

export function Problem ({ error }: { error: Error | null }) {
  if (error === null) return null
  return <p class='problem' role='alert'>{error.message}</p>
}

export function Empty ({ children }: { children: ComponentChildren }) {
  return <p class='muted empty'>{children}</p>
}

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function Scroll ({ label, children }: { label: string, children: ComponentChildren }) {
  return <div class='scroll' role='region' aria-label={label} tabIndex={0}>{children}</div>
}

export function Section ({ title, children, id }: { title: string, children: ComponentChildren, id?: string }) {
  return <section class='card' aria-labelledby={id ?? `h-${title}`}><h2 id={id ?? `h-${title}`}>{title}</h2>{children}</section>
}
