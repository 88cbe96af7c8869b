// Headless Chromium and the reference server for the demo tests, both started by
// ../../test-support/; the server as `cargo xtask demo` runs it (resume retention, the test
// endpoints, the demo site at `/`), but on a free port with in-memory storage and a fresh key.

import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'

import { launchChromium } from '../../test-support/chromium.js'
import { REPO_ROOT, startServer } from '../../test-support/server.js'

/** The repository root. */
export const ROOT = REPO_ROOT

/** Screenshots and other test output (gitignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts')

/** Launches Chromium (`CHROMIUM_BIN`, default /usr/bin/chromium). */
export function launch() {
  return launchChromium(chromium)
}

/**
 * Starts the server serving `siteDir`, by default the demo site that `cargo xtask demo` (and
 * `cargo xtask test`) prepares, or `DEMO_SITE_DIR`. `DEMO_TEST_VERBOSE` echoes its log.
 * @param {{ siteDir?: string }} [options]
 */
export function startDemoServer({ siteDir } = {}) {
  const staticDir = siteDir ?? resolve(process.env.DEMO_SITE_DIR ?? join(ROOT, 'target/demo-site'))
  if (!existsSync(staticDir)) {
    throw new Error(`${staticDir} does not exist: run \`cargo xtask test\` (or \`cargo xtask demo\`), which prepares it (or set DEMO_SITE_DIR)`)
  }
  return startServer({
    staticDir,
    // As `cargo xtask demo`: long enough for a tab that was offline a while to catch up.
    resumeRetentionSeconds: 300,
    onStderrLine: process.env.DEMO_TEST_VERBOSE ? line => console.error(`[server] ${line}`) : undefined,
  })
}

/** Path of an artifact file, creating the directory. */
export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true })
  return join(ARTIFACTS, name)
}

/** Console errors that tests cause on purpose: Chromium reports each failed socket. */
const EXPECTED_CONSOLE_ERRORS = /^WebSocket connection to '.*' failed/

/**
 * Collects a page's uncaught exceptions and unexpected console errors into `errors`, so a
 * test can fail on a page that broke without showing it.
 */
export function collectErrors(page, label, errors) {
  page.on('pageerror', error => errors.push(`${label}: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !EXPECTED_CONSOLE_ERRORS.test(message.text())) {
      errors.push(`${label}: console: ${message.text()}`)
    }
  })
}
