// One headless Chromium and one reference server (both started by ../../test-support/) per test
// file, and a fresh page per test.

import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, afterEach, before } from 'node:test'
import { chromium } from 'playwright-core'

import { launchChromium } from '../../test-support/chromium.js'
import { startServer } from '../../test-support/server.js'
import { buildSite, PROJECT_DIR, REPO_ROOT } from './site.js'

/** Where screenshots go (gitignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts')

/**
 * Starts the site, the server and the browser for a test file. `open(page)` gives a fresh
 * page (own context) with `page.html` loaded and its `window.ready` promise settled; its
 * console errors and uncaught exceptions are kept in `page.problems`.
 */
export async function startEnvironment() {
  const site = buildSite()
  let server
  let browser
  try {
    server = await startServer({ staticDir: site.dir })
    browser = await launchChromium(chromium)
  }
  catch (error) {
    await server?.stop()
    site.remove()
    throw error
  }
  const contexts = new Set()

  async function open(html) {
    const context = await browser.newContext()
    contexts.add(context)
    const page = await context.newPage()
    page.problems = []
    page.on('console', (message) => {
      if (message.type() === 'error') page.problems.push(`console.error: ${message.text()}`)
    })
    page.on('pageerror', error => page.problems.push(`uncaught: ${error.stack ?? error.message}`))
    await page.goto(`${server.baseUrl}/${html}`)
    // Each page module sets `window.ready` to a promise that settles once it has loaded.
    await page.waitForFunction(() => window.ready !== undefined, null, { timeout: 15_000 })
    await page.evaluate(() => window.ready)
    return page
  }

  async function closePages() {
    for (const context of contexts) await context.close().catch(() => {})
    contexts.clear()
  }

  async function stop() {
    await closePages()
    await browser.close().catch(() => {})
    await server.stop()
    site.remove()
  }

  return { server, open, closePages, stop }
}

/**
 * Registers a test file's hooks (call it inside `describe`): one environment for the file;
 * after each test its pages close, it must have left no uncaught page error, and the server no
 * socket, so the next test cannot receive its messages. `t.env` is the environment; `t.open`
 * opens a page and keeps it as `t.page` for those checks.
 */
export function useEnvironment() {
  const t = {
    env: undefined,
    page: undefined,
    async open(html) {
      t.page = await t.env.open(html)
      return t.page
    },
  }
  before(async () => {
    t.env = await startEnvironment()
  })
  after(async () => {
    await t.env?.stop()
  })
  afterEach(async () => {
    const uncaught = t.page?.problems.filter(p => p.startsWith('uncaught')) ?? []
    await t.env.closePages()
    t.page = undefined
    assert.deepEqual(uncaught, [], 'the page threw (or left a rejection unhandled)')
    await t.env.server.waitForSockets(sockets => sockets.length === 0, { what: 'the closed page\'s sockets to go' })
  })
  return t
}

/** Saves a PNG of `page` as test-artifacts/<name>.png and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const path = join(ARTIFACTS_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** A tag unique to one test, so events published for it reach no other test's iterator. */
export function uniqueTag(label) {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`
}

export { PROJECT_DIR }
