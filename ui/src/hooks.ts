/** Small hooks the pages share: the live feed's version, a ticking clock, the hash route and reads that follow the feed. */
import { createContext } from 'preact'
import { useContext, useEffect, useState } from 'preact/hooks'
import { getJson } from './api.js'
import type { LiveFeed } from './live.js'

export const LiveContext = createContext<LiveFeed | null>(null)

export function useLive (): LiveFeed {
  const live = useContext(LiveContext)
  if (live === null) throw new Error('LiveContext is missing')
  return live
}

// Bursts of events (a claim touches a workspace, a pool and the queue) cost one read, not one each.
const SETTLE_MS = 100

/** The feed's version, settled: moves at most every `settleMs` while events arrive. */
export function useLiveVersion (settleMs = SETTLE_MS): number {
  const live = useLive()
  const [version, setVersion] = useState(live.version)
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null
    const off = live.onChange(() => {
      timer ??= setTimeout(() => { timer = null; setVersion(live.version) }, settleMs)
    })
    return () => { off(); if (timer !== null) clearTimeout(timer) }
  }, [live, settleMs])
  return version
}

/** The feed, re-rendering when its link state or its next try changes (not on every event). */
export function useLinkState (): LiveFeed {
  const live = useLive()
  const key = () => `${live.state} ${live.retryAt}`
  const [, setKey] = useState(key())
  useEffect(() => live.onChange(() => setKey(key())), [live])
  return live
}

/** Now, ticking every second (for countdowns). */
export function useNow (): number {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [])
  return now
}

export function useHash (): string {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const on = () => setHash(location.hash)
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  return hash
}

export interface Loaded<T> {
  data: T | undefined
  error: Error | null
  /** The path `data` was read from (a page whose path changes may show the previous answer meanwhile). */
  from: string | null
}

/**
 * A JSON read, done again whenever the live feed moves (at most every `settleMs`); the previous data stays on
 * screen meanwhile.
 */
export function useRead<T> (path: string | null, settleMs?: number): Loaded<T> {
  const version = useLiveVersion(settleMs)
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: null, from: null })
  useEffect(() => {
    if (path === null) return
    let current = true
    getJson<T>(path).then(
      (data) => { if (current) setState({ data, error: null, from: path }) },
      (error: Error) => { if (current) setState((s) => ({ ...s, error })) }
    )
    return () => { current = false }
  }, [path, version])
  return state
}
