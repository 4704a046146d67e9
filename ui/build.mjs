// Bundles the dashboard into dist/ui/ (app.js, app.css, index.html): everything the page loads, served by the service.
import { copyFile, mkdir, rename, stat } from 'node:fs/promises'
import { build } from 'esbuild'

const out = new URL('../dist/ui/', import.meta.url)
const here = (path) => new URL(path, import.meta.url).pathname
await mkdir(out, { recursive: true })
await build({
  entryPoints: { app: here('src/main.tsx'), 'app-css': here('app.css') },
  outdir: out.pathname,
  entryNames: '[name]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning'
})
// esbuild names a CSS entry after itself; the page links app.css.
await rename(new URL('app-css.css', out), new URL('app.css', out))
await copyFile(here('index.html'), new URL('index.html', out))
let total = 0
for (const f of ['index.html', 'app.js', 'app.css']) total += (await stat(new URL(f, out))).size
console.log(`dashboard: dist/ui/ ${(total / 1024).toFixed(1)} KiB (index.html, app.js, app.css)`)
