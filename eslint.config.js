// The team's style: neostandard (standard's rules for ESLint 9), TypeScript included.
import neostandard from 'neostandard'

/** An import-boundary rule: files matching `files` may not import what `patterns` name (with why). */
const boundary = (files, patterns) => ({
  files,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] }
})

const NO_BOOT = { group: ['**/boot/*', '**/boot/**'], message: 'only boot/ wires Fastify and the process: import the store or src/shared instead' }
const NO_ROUTES = { group: ['**/routes/*', '**/routes/**'], message: 'the HTTP layer depends on the store, never the other way' }
const NO_FASTIFY = { group: ['fastify', 'fastify-plugin', '@fastify/*'], message: 'the store and the shared helpers do not depend on the HTTP framework' }
const NO_STORE = { group: ['**/store/*', '**/store/**'], message: 'src/shared depends on nothing of the service' }
const CLIENT_ONLY = { group: ['**/store/*', '**/store/**'], message: 'the CLI is a client of the HTTP API: use src/client and src/shared' }
const NO_CLI = { group: ['**/cli/*', '**/cli/**'], message: 'the CLI is a client of the service, not a part of it' }

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', 'src/client/api-types.ts'] }),
  // `void promise;` marks a promise left to run on purpose (its errors handled inside); as a statement it hides nothing.
  { rules: { 'no-void': ['error', { allowAsStatement: true }] } },
  // Dependencies point one way: boot → routes and mcp → store → (nothing of ours but src/shared).
  boundary(['src/routes/**/*.ts', 'src/mcp/**/*.ts'], [NO_BOOT, NO_CLI]),
  boundary(['src/store/**/*.ts'], [NO_BOOT, NO_ROUTES, NO_FASTIFY, NO_CLI]),
  boundary(['src/shared/**/*.ts'], [NO_BOOT, NO_ROUTES, NO_FASTIFY, NO_STORE, NO_CLI]),
  boundary(['src/cli/**/*.ts', 'src/client/**/*.ts'], [NO_ROUTES, CLIENT_ONLY])
]
