/** A time chart drawn by uPlot (small, fast, canvas): one line per series, sized to its box, themed from the page's CSS. */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

export interface Series {
  label: string
  values: Array<number | null>
}

const PALETTE = ['#2f7ed8', '#e4572e', '#3bb273', '#9b5de5', '#f3a712', '#17becf', '#d62976', '#8c8c8c']
/** Fixed colours for outcomes, so "failed" is red on every chart. */
const NAMED: Record<string, string> = { completed: '#3bb273', failed: '#e4572e', reaped: '#9b5de5', other: '#8c8c8c' }

/** `span`: the x range in seconds, when the data may not cover it (an hour with one point would span years). */
export function TimeChart ({ label, times, series, stepped, span }: { label: string, times: number[], series: Series[], stepped?: boolean, span?: [number, number] }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const shape = series.map((s) => s.label).join('\n')

  useEffect(() => {
    const el = box.current
    if (el === null) return
    const css = getComputedStyle(el)
    const fg = css.getPropertyValue('--fg').trim() || '#222'
    const grid = css.getPropertyValue('--line').trim() || '#ddd'
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const paths = stepped === true ? uPlot.paths.stepped?.({ align: 1 }) : undefined
    const opts: uPlot.Options = {
      width: el.clientWidth,
      height: 220,
      scales: {
        x: span === undefined ? { time: true } : { time: true, range: () => span },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] }
      },
      axes: [axis, { ...axis, size: 40 }],
      legend: { live: false },
      series: [{}, ...series.map((s, i) => ({
        label: s.label,
        stroke: NAMED[s.label] ?? PALETTE[i % PALETTE.length],
        width: 2,
        paths,
        points: { show: stepped !== true }
      }))]
    }
    // uPlot's constructor is its lower-case default export.
    // eslint-disable-next-line new-cap
    const u = new uPlot(opts, [times, ...series.map((s) => s.values)], el)
    plot.current = u
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: 220 }))
    resize.observe(el)
    return () => { resize.disconnect(); u.destroy(); plot.current = null }
  }, [shape, stepped, span?.[0]])

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)])
  }, [times, series])

  return <figure class='chart'><figcaption>{label}</figcaption><div ref={box} role='img' aria-label={label} /></figure>
}
