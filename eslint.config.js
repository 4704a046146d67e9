// The team's style: neostandard (standard's rules for ESLint 9), TypeScript included.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', 'src/client/api-types.ts'] }),
  // `void promise;` marks a promise left to run on purpose (its errors handled inside); as a statement it hides nothing.
  { rules: { 'no-void': ['error', { allowAsStatement: true }] } }
]
