// The size scenario: what a page downloads for our package (its wasm and JS as shipped, and the
// JS once a bundler minifies it) against the upstream-equivalent stack bundled and minified by
// esbuild from the npm packages the upstream plugin imports.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

import { BENCH_DIR } from './site.js'

const gzip = bytes => gzipSync(bytes, { level: 9 }).length

/** Raw and gzip -9 bytes of a set of files or buffers. */
function measure(buffers) {
  return {
    raw: buffers.reduce((sum, b) => sum + b.length, 0),
    gzip: buffers.reduce((sum, b) => sum + gzip(b), 0),
  }
}

async function bundle(entry, external = []) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    external,
    logLevel: 'warning',
  })
  return Buffer.from(result.outputFiles[0].contents)
}

/** Sizes in bytes (raw and gzip -9) for the table; `before` those of `baselineDir` (--baseline-pkg). */
export async function sizes(pkgDir, baselineDir) {
  const ours = await packageSizes(pkgDir)
  const upstream = measure([await bundle(join(BENCH_DIR, 'upstream', 'size-entry.js'))])
  return { ...ours, upstream, ...(baselineDir ? { before: await packageSizes(baselineDir) } : {}) }
}

/** Raw and gzip -9 bytes of the package in `pkgDir`. */
async function packageSizes(pkgDir) {
  const files = readdirSync(pkgDir).filter(name => statSync(join(pkgDir, name)).isFile())
  const read = name => readFileSync(join(pkgDir, name))
  const wasm = measure(files.filter(n => n.endsWith('.wasm')).map(read))
  const js = measure(files.filter(n => n.endsWith('.js')).map(read))
  // The JS of the main entry as an app's bundler would ship it (minified, wasm file apart).
  const jsMinified = measure([await bundle(join(pkgDir, 'index.js'), ['node:fs/promises'])])
  return {
    wasm,
    js,
    total: { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip },
    jsMinified,
    totalMinified: { raw: wasm.raw + jsMinified.raw, gzip: wasm.gzip + jsMinified.gzip },
  }
}
