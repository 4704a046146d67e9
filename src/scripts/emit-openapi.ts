/** `npm run openapi`: writes openapi/openapi.json from the route schemas. Commit the result. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { openApiDocument } from './openapi-document.js'

mkdirSync('openapi', { recursive: true })
writeFileSync('openapi/openapi.json', JSON.stringify(await openApiDocument(), null, 2) + '\n')
process.stdout.write('wrote openapi/openapi.json\n')
