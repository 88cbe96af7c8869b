// Headless Debian Chromium through playwright-core (never a downloaded browser), with the
// flags this machine needs: no background networking, so nothing tries to reach the internet.

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

import { ROOT } from './server.js'

/** Screenshots and other test output (gitignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts')

/** Launches Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
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
