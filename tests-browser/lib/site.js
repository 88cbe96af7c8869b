// Builds the directory the server serves at `/` for one test file: a copy of the npm package
// (`/pkg/`), the test pages with an import map written in, and this project's node_modules
// (`/node_modules/`), so a page imports `@orpc/client` and `durable-iterator-wasm/orpc` by their
// bare names exactly as an app would.

import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
/** tests-browser/ */
export const PROJECT_DIR = resolve(HERE, '..')
/** The repository root. */
export const REPO_ROOT = resolve(PROJECT_DIR, '..')
const PAGES_DIR = join(PROJECT_DIR, 'pages')
const NODE_MODULES = join(PROJECT_DIR, 'node_modules')
const IMPORT_MAP_PLACEHOLDER = '<!-- IMPORT MAP -->'
/** What `api-csp.html` (the harness page, generated) adds: a policy that forbids workers. */
const NO_WORKERS_POLICY = `<meta http-equiv="Content-Security-Policy" content="worker-src 'none'">`

/** The packages the pages import, and what they import in turn. */
const BROWSER_PACKAGES = [
  '@orpc/client',
  '@orpc/shared',
  '@orpc/standard-server',
  '@orpc/standard-server-fetch',
  '@orpc/standard-server-peer',
  '@orpc/tanstack-query',
  '@tanstack/query-core',
  'radash',
]

/** The built npm package: `DURABLE_ITERATOR_PKG_DIR`, else `pkg/` (made by `cargo xtask package`). */
export function packageDir() {
  return resolve(process.env.DURABLE_ITERATOR_PKG_DIR ?? join(REPO_ROOT, 'pkg'))
}

/** The ES module file an `exports` entry gives a browser (`import`, else `default`). */
function esmTarget(entry) {
  if (typeof entry === 'string') return entry
  if (entry === null || typeof entry !== 'object') return undefined
  for (const condition of ['browser', 'import', 'default']) {
    const target = esmTarget(entry[condition])
    if (target !== undefined) return target
  }
  return undefined
}

/**
 * Import-map entries for a package installed at `urlBase` (a URL path) with manifest `manifest`:
 * one per subpath of its `exports` (`.`, `./fetch`, ...), else its `module`/`main`.
 */
export function importMapEntries(name, manifest, urlBase) {
  const entries = {}
  const exports = manifest.exports
  const subpaths = typeof exports === 'object' && exports !== null && Object.keys(exports).every(k => k.startsWith('.'))
    ? exports
    : { '.': exports ?? manifest.module ?? manifest.main }
  for (const [subpath, entry] of Object.entries(subpaths)) {
    if (subpath.includes('*') || subpath.endsWith('package.json')) continue
    const target = esmTarget(entry)
    if (target === undefined || !/\.m?js$/.test(target)) continue
    const specifier = subpath === '.' ? name : `${name}/${subpath.slice(2)}`
    entries[specifier] = `${urlBase}/${target.replace(/^\.\//, '')}`
  }
  return entries
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
}

/** The import map of the test pages: @orpc/* and their dependencies, and the package itself. */
export function importMap(pkgDir = packageDir()) {
  const imports = {}
  for (const name of BROWSER_PACKAGES) {
    Object.assign(imports, importMapEntries(name, readManifest(join(NODE_MODULES, name)), `/node_modules/${name}`))
  }
  // The package as an app names it; without a package.json (a by-hand build), its two entries.
  const manifest = existsSync(join(pkgDir, 'package.json'))
    ? readManifest(pkgDir)
    : { exports: { '.': './index.js', './orpc': './orpc.js' } }
  Object.assign(imports, importMapEntries('durable-iterator-wasm', manifest, '/pkg'))
  return { imports }
}

/** Files the package must have for the pages to load it. */
const PACKAGE_FILES = ['index.js', 'orpc.js', 'durable_iterator_wasm_bg.wasm']

/**
 * Creates the site directory; returns its path and a `remove()`. The package is copied, not
 * linked, so a rebuild of pkg/ during the run cannot change it under a test.
 */
export function buildSite() {
  const pkgDir = packageDir()
  const missing = PACKAGE_FILES.filter(file => !existsSync(join(pkgDir, file)))
  if (missing.length > 0) {
    throw new Error(`${pkgDir} lacks ${missing.join(', ')}: build the npm package with \`cargo xtask package\` (or set DURABLE_ITERATOR_PKG_DIR)`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'durable-iterator-tests-browser-'))
  cpSync(pkgDir, join(dir, 'pkg'), { recursive: true })
  symlinkSync(NODE_MODULES, join(dir, 'node_modules'), 'dir')
  const map = `<script type="importmap">\n${JSON.stringify(importMap(pkgDir), null, 2)}\n</script>`
  for (const file of readdirSync(PAGES_DIR)) {
    const source = join(PAGES_DIR, file)
    if (file.endsWith('.html')) {
      const html = readFileSync(source, 'utf8')
      if (!html.includes(IMPORT_MAP_PLACEHOLDER)) throw new Error(`pages/${file} has no ${IMPORT_MAP_PLACEHOLDER} line`)
      const page = html.replace(IMPORT_MAP_PLACEHOLDER, map)
      writeFileSync(join(dir, file), page)
      if (file === 'api.html') writeFileSync(join(dir, 'api-csp.html'), html.replace(IMPORT_MAP_PLACEHOLDER, `${NO_WORKERS_POLICY}\n${map}`))
    }
    else {
      cpSync(source, join(dir, file), { recursive: true })
    }
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
