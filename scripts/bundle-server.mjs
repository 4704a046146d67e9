// Bundles the service's entry into dist/boot/server.js, the file `npm start` and the image run. Issue 23: an
// empty start spent most of its time resolving, reading and compiling modules one by one (829 ES modules, 683
// of them typebox's, plus fastify's CommonJS files), not starting the service. One file is read and compiled
// at once. What start-up does not need stays behind a dynamic import() and becomes a chunk of its own, loaded
// on first use (the MCP SDK, on the first /mcp request).
// DuckDB's bindings and @node-rs/crc32 (the change log's checksums) load a native addon by a platform-dependent
// path, so both stay in node_modules. So does
// yaml: it is CommonJS, loaded by a dynamic import() only when there is YAML to read, and a bundled chunk of a
// CommonJS module would hand that import() its exports as `default` only, where Node gives them by name.
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname
// The entry as build:js left it, one module per source file, kept as server-modules.js before the bundle takes
// its place: the tests spawn it, because coverage of a child process maps back to src/ file by file only from
// unbundled modules (with the bundle, every file a spawned service alone runs counted as never run). npm start,
// the image, the start/stop and package tests and the bench run the bundle.
const modules = `${root}dist/boot/server-modules.js`
writeFileSync(modules, readFileSync(`${root}dist/boot/server.js`, 'utf8').replace('//# sourceMappingURL=server.js.map', '//# sourceMappingURL=server-modules.js.map'))
copyFileSync(`${root}dist/boot/server.js.map`, `${modules}.map`)
// Chunk names carry a hash: the last build's would otherwise stay beside the new ones.
rmSync(`${root}dist/boot/server-chunks`, { recursive: true, force: true })

await build({
  entryPoints: { server: `${root}src/boot/server.ts` },
  outdir: `${root}dist/boot`,
  entryNames: '[name]',
  chunkNames: 'server-chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: true,
  external: ['@duckdb/*', '@node-rs/*', 'yaml'],
  // Bundled CommonJS (fastify and its plugins) calls require() for Node's own modules; an ES module has none.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning'
})
