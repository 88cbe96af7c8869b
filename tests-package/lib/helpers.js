// Shared by the tests: where the installed package is, a static file server, and a headless
// Chromium that loads a page and reports what it wrote into #result.

import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, dirname, extname, join, normalize, sep } from 'node:path'
import { existsSync } from 'node:fs'

import { CHROMIUM_ARGS, CHROMIUM_ENV } from '../../test-support/chromium.js'

/** The directory of the installed `durable-iterator-wasm`, as Node resolves it. */
export const packageDir = dirname(createRequire(import.meta.url).resolve('durable-iterator-wasm/package.json'))

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
}

/**
 * Serves `root` on 127.0.0.1 (a free port) with the MIME types browsers require for modules
 * and streaming wasm compilation. Returns `{ url, close }`.
 */
export async function serveStatic(root) {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname))
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path)
    if (!file.startsWith(root + sep) && file !== root) {
      response.writeHead(403).end()
      return
    }
    try {
      const body = await readFile(file)
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      response.end(body)
    }
    catch {
      response.writeHead(404).end('not found')
    }
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise(resolve => server.close(resolve)),
  }
}

/**
 * The Chromium (or Chrome) binary: `$CHROMIUM_BIN` (as every suite reads it), else the first
 * known name on PATH: a consumer's machine may have only Chrome.
 */
export function findChromium() {
  if (process.env[CHROMIUM_ENV]) return process.env[CHROMIUM_ENV]
  const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of names) {
      const candidate = join(dir, name)
      if (existsSync(candidate)) return candidate
    }
  }
  return undefined
}

/**
 * Opens `url` in headless Chromium, lets the page run, and returns the text of its #result
 * element (the pages write `loaded ...` or `error: ...` there).
 */
export async function pageResult(chromium, url) {
  const profile = await mkdtemp(join(tmpdir(), 'durable-iterator-wasm-chromium-'))
  try {
    const dom = await new Promise((resolve, reject) => {
      execFile(chromium, [
        // The suites' flags, then the new headless mode explicitly: --dump-dom needs it.
        ...CHROMIUM_ARGS,
        '--headless=new',
        '--disable-dev-shm-usage',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        '--virtual-time-budget=20000',
        '--dump-dom',
        url,
      ], { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
    const match = /<p id="result">([\s\S]*?)<\/p>/.exec(dom)
    if (!match) throw new Error(`no #result in the page:\n${dom.slice(0, 2000)}`)
    return match[1].replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>')
  }
  finally {
    await rm(profile, { recursive: true, force: true })
  }
}
