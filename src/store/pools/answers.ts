/** The answer of `GET /v1/pools`, built once for the REST route and the MCP tool. */
import type { PoolView } from './model.js'
import type { Pools } from './pools.js'

/** Every pool that is configured, tracked or backed off, as it stands at `now` (the same views until something changes). */
export function poolList (pools: Pools, now: Date): { items: PoolView[] } {
  return { items: pools.views(now) }
}
