/** QA findings across journal cycles: the fingerprint that recognises a finding again, and the new/resolved/persistent diff (API §7). */
import type { Finding, FindingsDiff } from './model.js'

const text = (v: unknown): string => typeof v === 'string' ? v : ''
const int = (v: unknown): number => typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0

/** `tool|file|line|code`, with `rule_id` when `code` is empty: the Go agent's findingFingerprint, so keys match its reports. */
export function fingerprint (f: Finding): string {
  return `${text(f.tool)}|${text(f.file)}|${int(f.line)}|${text(f.code) || text(f.rule_id)}`
}

/** Findings by fingerprint; a repeat within one cycle counts once (the first one is kept). */
function byKey (findings: readonly Finding[]): Map<string, Finding> {
  const map = new Map<string, Finding>()
  for (const f of findings) {
    const key = fingerprint(f)
    if (!map.has(key)) map.set(key, f)
  }
  return map
}

/** The findings of `from` whose key passes `keep`, in fingerprint order. */
function pick (from: Map<string, Finding>, keep: (key: string) => boolean): Finding[] {
  return [...from].filter(([key]) => keep(key)).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, f]) => f)
}

/**
 * Diffs the latest cycle against the ones before it; `newestFirst` yields the latest cycle first, then
 * each older one, and is read once: only the latest two cycles' findings are kept, of the older ones
 * just whether they hold each key, so a window of large cycles costs two of them in memory, not all.
 * `new`: in the latest cycle, not in the one before (as the Go agent's diffFindings); `resolved`: in the
 * one before, not in the latest; `persistent`: in every cycle given. A single cycle is a baseline: all
 * three lists are empty. Each list is in fingerprint order.
 */
export function diffCycles (newestFirst: Iterable<readonly Finding[]>): FindingsDiff {
  let latest: Map<string, Finding> | undefined
  let previous: Map<string, Finding> | undefined
  const everywhere = new Set<string>()
  for (const findings of newestFirst) {
    const cycle = byKey(findings)
    if (latest === undefined) {
      latest = cycle
      for (const key of cycle.keys()) everywhere.add(key)
      continue
    }
    previous ??= cycle
    for (const key of everywhere) if (!cycle.has(key)) everywhere.delete(key)
  }
  if (latest === undefined || previous === undefined) return { new: [], resolved: [], persistent: [] }
  const [last, before] = [latest, previous]
  return {
    new: pick(last, (k) => !before.has(k)),
    resolved: pick(before, (k) => !last.has(k)),
    persistent: pick(last, (k) => everywhere.has(k))
  }
}
