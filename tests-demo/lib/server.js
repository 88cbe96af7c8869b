// Starts the reference server the way `cargo xtask demo` does (test endpoints, resume
// retention, the demo site as its static directory), but on a free port with in-memory
// storage and a fresh signing key, so a test run touches nothing outside itself.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The repository root (this file is tests-demo/lib/server.js). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

const LISTENING = 'durable-iterator-server listening on '

/** Where a variable names a path, or the default under the repository; fails when missing. */
function requiredPath(variable, fallback, hint) {
  const path = process.env[variable] ? resolve(process.env[variable]) : join(ROOT, fallback)
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: ${hint} (or set ${variable})`)
  }
  return path
}

/**
 * Starts the server serving `siteDir` (default: the demo site that `cargo xtask demo`
 * prepares) and resolves once it listens: `{ url, stop }`.
 * @param {{ siteDir?: string }} [options]
 */
export async function startServer(options = {}) {
  const binary = requiredPath('DURABLE_ITERATOR_SERVER_BIN', 'target/debug/durable-iterator-server',
    'build it with `cargo build -p durable-iterator-server`')
  const siteDir = options.siteDir ?? requiredPath('DEMO_SITE_DIR', 'target/demo-site',
    'run `cargo xtask test` (or `cargo xtask demo`), which prepares it')
  const args = [
    '--addr', '127.0.0.1:0',
    '--signing-key', randomBytes(24).toString('hex'),
    '--db', ':memory:',
    '--resume-retention-seconds', '300',
    '--test-endpoints',
    '--static-dir', siteDir,
  ]
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const log = []
  createInterface({ input: child.stderr }).on('line', (line) => {
    log.push(line)
    if (process.env.DEMO_TEST_VERBOSE) console.error(`[server] ${line}`)
  })
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 30 s:\n${log.join('\n')}`)), 30_000)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (${code}) before listening:\n${log.join('\n')}`))
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(LISTENING)) {
        clearTimeout(timer)
        resolveUrl(line.slice(LISTENING.length).trim())
      }
    })
  })
  return {
    url,
    log,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise(r => child.once('exit', r))
      child.kill()
      await exited
    },
  }
}
