// `npm start`'s first step (prestart): builds dist/ when it is missing or older than a source, then lets start
// serve it. The build lives here rather than in `prepare` because `prepare` runs on every `npm ci` (and whenever npm
// installs the project from a folder or git, as `npx` did): the install stays an install, and a clone that is
// started after a `git pull` never serves yesterday's build.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** What `npm run build` reads: a change to any of them makes dist/ stale. */
const SOURCES = ['src', 'ui', 'scripts/bundle-server.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']
/** One output of each build step (server, CLI, dashboard, the client's declarations): the oldest says when the last whole build ran. */
const OUTPUTS = ['dist/boot/server.js', 'dist/cli/main.js', 'dist/ui/index.html', 'dist/client/index.d.ts']

/** The newest modification time under `path` (0 when it does not exist). */
function newest (path) {
  let stat
  try { stat = statSync(path) } catch { return 0 }
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs)
}

const built = Math.min(...OUTPUTS.map((f) => { try { return statSync(f).mtimeMs } catch { return 0 } }))
const changed = Math.max(...SOURCES.map(newest))
if (built === 0 || changed > built) {
  process.stderr.write(built === 0 ? 'agent-state: no build yet: npm run build\n' : 'agent-state: sources changed since the last build: npm run build\n')
  // The build's output goes to stderr: under `npm pack --json` stdout is the pack's JSON answer.
  const { status } = spawnSync('npm', ['run', 'build'], { stdio: ['inherit', 2, 2] })
  process.exit(status ?? 1)
}
