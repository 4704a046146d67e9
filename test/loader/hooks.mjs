/**
 * Module hooks that run the TypeScript sources as they are, for the tests and the services they spawn: each `.ts`
 * file is transpiled alone by esbuild (types erased, nothing checked: `npm run typecheck` does that), keeping its
 * lines and an inline source map, so stack traces and coverage point at the source.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

// What tsconfig.json says that changes the emitted JavaScript: imports stay as written, class fields are defined.
const tsconfigRaw = { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } }

/** `./x.js` written in a `.ts` file (NodeNext style) names the compiled file; from source it is `./x.ts`. */
export async function resolve (specifier, context, next) {
  if (context.parentURL?.endsWith('.ts') && /^\.{1,2}\/.*\.js$/.test(specifier)) {
    const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL)
    if (existsSync(ts)) return { url: ts.href, format: 'module', shortCircuit: true }
  }
  return next(specifier, context)
}

export async function load (url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context)
  const path = fileURLToPath(url)
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcefile: path, tsconfigRaw
  })
  return { format: 'module', source: code, shortCircuit: true }
}
