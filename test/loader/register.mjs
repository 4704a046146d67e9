// `node --import=./test/loader/register.mjs`: runs TypeScript through hooks.mjs (see there).
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
