/**
 * The package an agent host installs: `npm pack` makes a tarball that carries dist/, `npm install -g` of it puts
 * `agent-state` on PATH with no build and no warning, and another project imports `agent-state/client`, types
 * included. Both installs prefer the npm cache (`npm ci` filled it with the dependencies' tarballs); npm still asks
 * the registry for the version lists (packuments) it has not cached, which `npm ci` never fetches.
 */
import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { startService } from './child.js'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')
const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline']

// npm on a busy 2-core machine: seconds to tens of seconds per step.
t.setTimeout(600_000)

/** Runs npm in `cwd`; its stdout and stderr (npm writes warnings to stderr). */
async function npm (args: string[], cwd: string): Promise<{ stdout: string, stderr: string, ms: number }> {
  const started = performance.now()
  const { stdout, stderr } = await run('npm', args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 64 << 20 })
  return { stdout, stderr, ms: Math.round(performance.now() - started) }
}

t.test('npm pack, npm install -g and an import from another project', async (t) => {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)')
  const dir = t.testdir({ prefix: {}, project: {}, data: {} })

  // The real prepack: it builds only when dist/ is older than the sources (npm test has just built it).
  const packed = await npm(['pack', '--json', '--pack-destination', dir], ROOT)
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string, size: number, unpackedSize: number, files: Array<{ path: string }> }>
  const files = new Set(info?.files.map((f) => f.path))
  for (const f of ['package.json', 'dist/cli/main.js', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/boot/server.js', 'dist/ui/index.html']) {
    t.ok(files.has(f), `the tarball carries ${f}`)
  }
  t.notOk([...files].some((f) => /^(src|test|bench|ui|dist\/scripts)\//.test(f)), 'no sources, tests, bench or build scripts')
  const tarball = join(dir, info?.filename as string)
  t.comment(`tarball ${info?.filename}: ${(Number(info?.size) / 1024).toFixed(0)} KiB packed, ${(Number(info?.unpackedSize) / 1024).toFixed(0)} KiB unpacked, ${files.size} files (npm pack ${packed.ms} ms)`)

  // A global install into a prefix of its own: no build, no install script, no warning.
  const prefix = join(dir, 'prefix')
  const global = await npm(['install', '-g', '--prefix', prefix, ...NPM_QUIET, tarball], dir)
  t.equal(global.stderr.trim(), '', 'npm install -g says nothing on stderr (no warning)')
  t.comment(`npm install -g of the tarball: ${global.ms} ms`)
  const bin = join(prefix, 'bin', 'agent-state')
  const help = await run(bin, ['--help'], { env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` } })
  t.match(help.stdout, /^usage: agent-state/m, 'agent-state is on the prefix\'s PATH and runs')

  // Another project imports the typed client from the tarball, type-checks against its declarations and uses it.
  const project = join(dir, 'project')
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'host', private: true, type: 'module' }))
  const local = await npm(['install', ...NPM_QUIET, tarball], project)
  t.equal(local.stderr.trim(), '', 'npm install in a project says nothing on stderr')
  writeFileSync(join(project, 'use.ts'), [
    "import { createAgentStateClient, type Workspace } from 'agent-state/client'",
    "const client = createAgentStateClient({ url: 'http://127.0.0.1:3000' })",
    "const { data } = await client.GET('/v1/workspaces/{org}/{repo}/{leaf}', { params: { path: { org: 'core', repo: 'r', leaf: 'a' } } })",
    'const record: Workspace | undefined = data',
    'export const status: string | undefined = record?.status',
    '// @ts-expect-error a number is not a status (were the types `any`, this line would be the error)',
    "export const wrong: Workspace['status'] = 42"
  ].join('\n'))
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', strict: true, noEmit: true, types: [] },
    files: ['use.ts']
  }))
  // Missing or broken declarations would show here, and so would declarations that type everything as `any`.
  const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project]).catch((err: { stdout: string }) => ({ stdout: err.stdout }))
  t.equal(tsc.stdout, '', 'the client\'s declarations type-check in the other project')

  const svc = await startService(t, { DATA_DIR: join(dir, 'data') })
  writeFileSync(join(project, 'use.mjs'), [
    "import { createAgentStateClient } from 'agent-state/client'",
    'const client = createAgentStateClient({ url: process.argv[2] })',
    "const { data } = await client.GET('/v1/status')",
    'console.log(JSON.stringify({ total: data.total }))'
  ].join('\n'))
  const used = await run(process.execPath, ['use.mjs', svc.url], { cwd: project })
  t.same(JSON.parse(used.stdout), { total: 0 }, 'the imported client talks to the service')
})
