// The packed package in a browser: a plain <script type="module"> page, and an unconfigured
// Vite 7 app both in `vite build` output and under the dev server. Each page writes
// `loaded <channel>` into #result once the wasm ran (see app/main.js and plain.html below).

import assert from 'node:assert/strict'
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { build, createLogger, createServer } from 'vite'
import { findChromium, packageDir, pageResult, serveStatic } from '../lib/helpers.js'

const appDir = fileURLToPath(new URL('../app/', import.meta.url))
const chromium = findChromium()
const noBrowser = chromium ? false : 'no chromium on PATH (cargo xtask installs it; or set CHROME)'

let scratch
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'durable-iterator-wasm-tests-package-'))
})
after(async () => {
  await rm(scratch, { recursive: true, force: true })
})

const PLAIN_PAGE = `<!doctype html>
<meta charset="utf-8">
<p id="result">pending</p>
<script type="module">
  import { initialize, parseToken } from './durable-iterator-wasm/index.js'
  const result = document.getElementById('result')
  try {
    await initialize()
    const payload = await parseToken(JSON.stringify({ chn: 'plain-room', iat: 1, exp: 2 }) + '.sig')
    result.textContent = 'loaded ' + payload.chn
  } catch (error) {
    result.textContent = 'error: ' + (error?.stack ?? error)
  }
</script>
`

test('a plain <script type="module"> page loads the package files as published', { skip: noBrowser }, async () => {
  const site = join(scratch, 'plain')
  await cp(packageDir, join(site, 'durable-iterator-wasm'), { recursive: true })
  await writeFile(join(site, 'index.html'), PLAIN_PAGE)
  const server = await serveStatic(site)
  try {
    assert.equal(await pageResult(chromium, server.url), 'loaded plain-room')
  }
  finally {
    await server.close()
  }
})

/** A Vite logger that also keeps the warnings, so the tests can require a clean build. */
function recordingLogger() {
  const base = createLogger('warn')
  const warnings = []
  return {
    ...base,
    warnings,
    warn(message, options) {
      warnings.push(message)
      base.warn(message, options)
    },
    warnOnce(message, options) {
      warnings.push(message)
      base.warnOnce(message, options)
    },
  }
}

describe('a Vite 7 app without configuration', () => {
  test('vite build emits the wasm as an asset and the built page loads it', async (t) => {
    const outDir = join(scratch, 'vite-dist')
    const logger = recordingLogger()
    await build({ root: appDir, customLogger: logger, configFile: false, build: { outDir, emptyOutDir: true } })
    const ours = logger.warnings.filter(message => message.includes('durable-iterator-wasm'))
    assert.deepEqual(ours, [], 'the build warns about the package')
    const assets = await readdir(join(outDir, 'assets'))
    const wasm = assets.filter(name => name.endsWith('.wasm'))
    assert.equal(wasm.length, 1, `assets: ${assets.join(', ')}`)
    const shipped = await readFile(join(packageDir, 'durable_iterator_wasm_bg.wasm'))
    assert.ok(shipped.equals(await readFile(join(outDir, 'assets', wasm[0]))), 'the emitted wasm differs from the package')
    const scripts = assets.filter(name => name.endsWith('.js'))
    const texts = await Promise.all(scripts.map(name => readFile(join(outDir, 'assets', name), 'utf8')))
    assert.ok(texts.some(text => text.includes(wasm[0])), 'no script refers to the emitted wasm')

    if (noBrowser) return t.skip(noBrowser)
    const server = await serveStatic(outDir)
    try {
      assert.equal(await pageResult(chromium, server.url), 'loaded vite-room')
    }
    finally {
      await server.close()
    }
  })

  test('the dev server (with dependency pre-bundling) serves a page that loads it', { skip: noBrowser }, async () => {
    const server = await createServer({
      root: appDir,
      configFile: false,
      logLevel: 'warn',
      // The default cache directory (node_modules/.vite) on purpose: where the pre-bundled
      // modules live is what breaks `new URL(..., import.meta.url)`. npm's hidden lockfile
      // changes with every install of a new tarball, so Vite re-bundles then.
      server: { host: '127.0.0.1', port: 0, strictPort: false },
    })
    await server.listen()
    try {
      const url = server.resolvedUrls.local[0]
      assert.equal(await pageResult(chromium, url), 'loaded vite-room')
    }
    finally {
      await server.close()
    }
  })
})
