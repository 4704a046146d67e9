/** The package's own name and version, read once from package.json (beside dist/ in a checkout and in the image). */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

interface PackageInfo { name: string, version: string, license: string }

export const packageInfo: PackageInfo = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as PackageInfo
