// The directory the server serves to the bench page: a copy of the npm package (`/pkg/`), with
// --baseline-pkg a copy of the baseline package (`/pkg-before/`), the upstream-equivalent client
// bundled from npm by esbuild (`/upstream.js`) and the page itself.

import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** bench/ */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** The repository root. */
export const REPO_ROOT = resolve(BENCH_DIR, '..')

const PACKAGE_FILES = ['index.js', 'durable_iterator_wasm_bg.wasm']

/** Builds the site from `pkgDir` (and `baselineDir`, if given); returns its path and a `remove()`. */
export async function buildSite(pkgDir, baselineDir) {
  for (const d of baselineDir ? [pkgDir, baselineDir] : [pkgDir]) {
    const missing = PACKAGE_FILES.filter(file => !existsSync(join(d, file)))
    if (missing.length > 0) {
      throw new Error(`${d} lacks ${missing.join(', ')}: build the npm package with \`cargo xtask package\``)
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'durable-iterator-bench-'))
  cpSync(pkgDir, join(dir, 'pkg'), { recursive: true })
  // Its own path: the package's modules import each other (and its wasm) relatively, so the
  // two copies never share a module.
  if (baselineDir) cpSync(baselineDir, join(dir, 'pkg-before'), { recursive: true })
  cpSync(join(BENCH_DIR, 'pages'), dir, { recursive: true })
  await build({
    entryPoints: [join(BENCH_DIR, 'upstream', 'client.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(dir, 'upstream.js'),
    logLevel: 'warning',
  })
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
