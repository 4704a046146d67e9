/**
 * `npm test` and `npm run test:quick` after the build (see docs/development.md).
 *
 * npm test: tap over every test file with coverage and its floor (.taprc; off there for runs by hand), and
 * beside it the checks that read the code without running it: the type-check, ESLint and the OpenAPI lint.
 * tap's output streams as it comes; each check's output is held and printed after tap's summary, with a
 * closing line per check. Any failure, a test's or a check's, fails the run.
 *
 * npm run test:quick: tap without coverage over the files the inner loop needs: no browser (ui-*), crash
 * (*crash*) or fault (fault-*) suites, no checks.
 *
 * Arguments go to tap (`npm test -- --reporter=tap`); a `.ts` among them replaces the file list.
 */
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { delimiter, resolve } from 'node:path'

const quick = process.argv[2] === '--quick'
const tapArgs = process.argv.slice(quick ? 3 : 2)
const SLOW_SUITES = /^(ui-.*|.*crash.*|fault-.*)\.test\.ts$/

const CHECKS = quick ? [] : ['typecheck', 'lint', 'lint:openapi']

/** Runs `cmd args`, its output held; resolves with the exit code, the output and the seconds it took. */
function held (cmd, args) {
  const started = performance.now()
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })
  return new Promise((resolve) => child.on('close', (code, signal) =>
    resolve({ code: code ?? signal, output, seconds: (performance.now() - started) / 1000 })))
}

const checks = CHECKS.map((name) => ({ name, done: held('npm', ['run', '--silent', name]) }))

const filesGiven = tapArgs.some((a) => a.endsWith('.ts'))
const files = quick && !filesGiven
  ? readdirSync('test').filter((f) => f.endsWith('.test.ts') && !SLOW_SUITES.test(f)).map((f) => `test/${f}`)
  : []
const env = { ...process.env, PATH: `${resolve('node_modules/.bin')}${delimiter}${process.env.PATH}` }

// tap rebuilds its test class when .taprc's plugins are not those it was built with (the first run after
// npm ci), but that run still starts every file with the old plugins' loaders, ts-node's among them, costing
// seconds a file: build first.
const plugins = execFileSync('tap', ['plugin', 'list'], { encoding: 'utf8', env }).trim()
const built = readFileSync('node_modules/@tapjs/test/test-built/dist/esm/index.js', 'utf8')
if (!built.includes(`export const signature = \`${plugins}\``)) execFileSync('tap', ['build'], { stdio: 'inherit', env })

const tap = spawn('tap', [...(quick ? [] : ['--no-disable-coverage']), ...tapArgs, ...files], { stdio: 'inherit', env })
const tapCode = await new Promise((resolve) => tap.on('close', (code, signal) => resolve(code ?? signal)))

let failed = tapCode !== 0
for (const { name, done } of checks) {
  const { code, output, seconds } = await done
  if (code !== 0) {
    failed = true
    process.stdout.write(`\n${output.trimEnd()}\n`)
  }
  console.log(`# ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${seconds.toFixed(1)} s`)
}
if (tapCode !== 0) console.log(`# tap: FAILED (exit ${tapCode})`)
process.exitCode = failed ? 1 : 0
