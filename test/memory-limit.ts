/** The memory the service ships with (deploy/k8s), as a child process gets it, and what the child used. */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

interface Container {
  name: string
  resources?: { limits?: { memory?: string } }
}

/** The container's memory limit in deploy/k8s/statefulset.yaml, in MiB. */
export function shippedLimitMiB (): number {
  const doc = parse(readFileSync('deploy/k8s/statefulset.yaml', 'utf8')) as { spec: { template: { spec: { containers: Container[] } } } }
  const limit = doc.spec.template.spec.containers.find((c) => c.name === 'agent-state')?.resources?.limits?.memory
  const m = /^(\d+)(Mi|Gi)$/.exec(limit ?? '')
  if (m === null) throw new Error(`deploy/k8s/statefulset.yaml: no memory limit in Mi or Gi (${String(limit)})`)
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1)
}

/**
 * NODE_OPTIONS giving a child the heap Node itself picks inside that container: half the cgroup's limit
 * (measured: 524 MB of heap under a 1 GiB memory cgroup, Node 20).
 */
export function shippedHeapOptions (): Record<string, string> {
  return { NODE_OPTIONS: `--max-old-space-size=${Math.floor(shippedLimitMiB() / 2)}` }
}

/** Peak and current resident memory of a live process, in MiB (Linux /proc); null once it is gone. */
export function residentMiB (pid: number): { peak: number, now: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN)
    return { peak: Math.round(kib('VmHWM') / 1024), now: Math.round(kib('VmRSS') / 1024) }
  } catch {
    return null
  }
}
