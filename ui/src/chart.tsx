/**
 * Time charts drawn by uPlot (small, fast, canvas), sized to their box and themed from the page's CSS: a level
 * over time as steps (running per pool), counts per bucket as stacked bars (finished runs per hour).
 */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

export interface Series {
  label: string
  values: Array<number | null>
}

const PALETTE = ['#2f7ed8', '#e4572e', '#3bb273', '#9b5de5', '#f3a712', '#17becf', '#d62976', '#8c8c8c']
/** Fixed colours for outcomes, so "failed" is red on every chart. */
const NAMED: Record<string, string> = { completed: '#3bb273', failed: '#e4572e', reaped: '#9b5de5', other: '#8c8c8c' }
const HEIGHT = 220
/** A time tick as the reader's clock shows it, with seconds only when ticks are less than a minute apart. */
const tick = (incr: number) => (s: number): string =>
  new Date(s * 1000).toLocaleTimeString([], incr < 60 ? { hour: '2-digit', minute: '2-digit', second: '2-digit' } : { hour: '2-digit', minute: '2-digit' })
// Counts are whole: no tick at 0.5.
const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000]

/**
 * Bars are stacked by drawing running totals, the tallest first: each series covers the part of the bar below
 * it, so the colours stack in the order of `series` from the bottom, and the legend reads top to bottom.
 */
function stacked (series: Series[]): Series[] {
  const sums: Array<number | null> = (series[0]?.values ?? []).map(() => null)
  return series.map((s) => {
    s.values.forEach((v, x) => { if (v !== null) sums[x] = (sums[x] ?? 0) + v })
    return { label: s.label, values: [...sums] }
  }).reverse()
}

/**
 * `times` are in seconds since the epoch (for bars, the middle of each bucket); `range` is the x range to show,
 * in seconds: the charts start where the service's data starts rather than at a fixed distance from now.
 */
export function TimeChart ({ label, times, series, kind, range }: { label: string, times: number[], series: Series[], kind: 'steps' | 'bars', range: [number, number] }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const drawn = kind === 'bars' ? stacked(series) : series
  const shape = drawn.map((s) => s.label).join('\n')
  // uPlot reads the range from here whenever it rescales, so a new range needs no new chart.
  const shown = useRef(range)
  shown.current = range

  useEffect(() => {
    const el = box.current
    if (el === null) return
    const css = getComputedStyle(el)
    const fg = css.getPropertyValue('--fg').trim() || '#222'
    const grid = css.getPropertyValue('--line').trim() || '#ddd'
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const paths = kind === 'bars' ? uPlot.paths.bars?.({ size: [0.7, 48], align: 0 }) : uPlot.paths.stepped?.({ align: 1 })
    const opts: uPlot.Options = {
      width: el.clientWidth,
      height: HEIGHT,
      // Room on the right for the last time label, which is centred on the right edge.
      padding: [8, 28, 0, 0],
      scales: {
        x: { time: true, range: () => shown.current },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] }
      },
      // The caption says which day: one line of times is enough, spaced so they never run together.
      axes: [{ ...axis, space: 70, values: (_u, splits, _axis, _space, incr) => splits.map(tick(incr)) }, { ...axis, size: 40, incrs: WHOLE }],
      legend: { live: false },
      cursor: { show: false },
      series: [{}, ...drawn.map((s, i) => {
        const colour = NAMED[s.label] ?? PALETTE[i % PALETTE.length]
        return kind === 'bars'
          ? { label: s.label, stroke: colour, fill: colour, width: 0, paths, points: { show: false } }
          : { label: s.label, stroke: colour, width: 2, paths, points: { show: false } }
      })]
    }
    // uPlot's constructor is its lower-case default export.
    // eslint-disable-next-line new-cap
    const u = new uPlot(opts, [times, ...drawn.map((s) => s.values)], el)
    plot.current = u
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: HEIGHT }))
    resize.observe(el)
    return () => { resize.disconnect(); u.destroy(); plot.current = null }
  }, [shape, kind])

  useEffect(() => {
    plot.current?.setData([times, ...drawn.map((s) => s.values)])
  }, [times, series, range[0], range[1]])

  return (
    <figure class='chart' data-kind={kind} data-from={range[0]} data-to={range[1]}>
      <figcaption>{label}</figcaption>
      <div ref={box} role='img' aria-label={label} />
    </figure>
  )
}
