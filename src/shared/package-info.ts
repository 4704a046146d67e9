/** The package's own name and version, read once from its package.json (beside dist/ in a checkout and in the image). */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

interface PackageInfo { name: string, version: string, license: string }

/**
 * The folder that holds the package.json nearest above this module: the package root whether this code runs from
 * src/ (tests), from dist/ file by file, or from the bundle (dist/boot/server.js and its chunks, a level deeper).
 */
function findPackageRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const packageRoot: string = findPackageRoot(import.meta.dirname)

export const packageInfo: PackageInfo = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as PackageInfo
