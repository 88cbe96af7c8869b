// What the JS API test files share: one environment (server + Chromium) per file, a fresh
// `pages/api.html` per test, and helpers that drive the page's harness (named iterators whose
// events and notices the page records) from Node.

import assert from 'node:assert/strict'
import { after, afterEach, before } from 'node:test'

import { startEnvironment } from './browser.js'

/** How long a test waits for something the page should do soon. */
export const WAIT_MS = 10_000

/** `[first, ..., last]` as decimal strings, the shape of resume ids. */
export function idRange(first, last) {
  const ids = []
  for (let id = BigInt(first); id <= BigInt(last); id++) ids.push(String(id))
  return ids
}

/**
 * Registers the file's hooks (call it inside `describe`) and returns the helpers. `t.page` is
 * the current test's page; `t.server` the file's server.
 */
export function useApiPage() {
  let env
  const t = {
    page: undefined,
    get server() {
      return env.server
    },

    /** Opens a fresh harness page (`pages/api.html`, or another page that loads `api.js`). */
    async openPage(html = 'api.html') {
      t.page = await env.open(html)
      return t.page
    },

    /** `connect()` options for the demo procedure, subscribed to `tag`. */
    options(tag, extra = {}) {
      return {
        rpcUrl: env.server.rpcUrl,
        procedure: 'onMessage',
        url: env.server.objectUrl,
        input: { tags: [tag] },
        ...extra,
      }
    },

    /** Connects run `name` in the page and waits until the server has its subscription. */
    async openRun(name, connectOptions, flags) {
      const info = await t.page.evaluate(([n, o, f]) => window.harness.open(n, o, f), [name, connectOptions, flags])
      const socket = await env.server.waitSubscribed(info.clientId)
      return { ...info, socket }
    },

    consume: name => t.page.evaluate(n => window.harness.consume(n), name),
    summary: name => t.page.evaluate(n => window.harness.summary(n), name),

    /** Waits until run `name` has `count` events; returns its summary. */
    async waitEvents(name, count, timeout = WAIT_MS) {
      await t.page.waitForFunction(([n, c]) => window.harness.get(n).events.length >= c, [name, count], { timeout })
        .catch(async (error) => {
          throw new Error(`run ${name} did not get ${count} events: ${JSON.stringify(await t.summary(name))}`, { cause: error })
        })
      return t.summary(name)
    },

    /** Waits until run `name`'s `for await` loop has ended; returns its summary. */
    async waitEnded(name, timeout = WAIT_MS) {
      await t.page.waitForFunction(n => window.harness.get(n).ended !== undefined, name, { timeout })
      return t.summary(name)
    },
  }

  before(async () => {
    env = await startEnvironment()
  })
  after(async () => {
    await env?.stop()
  })
  afterEach(async () => {
    const uncaught = t.page?.problems.filter(p => p.startsWith('uncaught')) ?? []
    await env.closePages()
    t.page = undefined
    assert.deepEqual(uncaught, [], 'the page threw (or left a rejection unhandled)')
  })

  return t
}
