// Smoke test of the Yew example (examples/yew/): two tabs of the compiled app against a
// real reference server; a message typed in one (singleClient over its socket) and one
// published over HTTP (sendMessage) both show up in the other tab.

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { artifact, collectErrors, launch } from '../lib/browser.js'
import { ROOT, startServer } from '../lib/server.js'

// `cargo xtask test` builds the site and always sets the variable; a bare `npm test` without
// a built site skips this file visibly instead of failing on a missing build.
const siteDir = process.env.YEW_SITE_DIR || join(ROOT, 'target/yew-site')
const skip = !existsSync(join(siteDir, 'index.html')) && !process.env.YEW_SITE_DIR
  ? `${siteDir} is not built (cargo xtask test builds it)`
  : false

let server
let browser

before(async () => {
  if (skip) return
  server = await startServer({ siteDir })
  browser = await launch()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

test('the Yew chat receives messages from another tab and over HTTP', { skip }, async () => {
  const errors = []
  const context = await browser.newContext({ viewport: { width: 900, height: 760 } })
  const pages = []
  for (const label of ['first', 'second']) {
    const page = await context.newPage()
    collectErrors(page, label, errors)
    await page.goto(`${server.url}/`)
    await page.locator('#state[data-state="open"]').waitFor()
    pages.push(page)
  }
  const [first, second] = pages
  const firstUser = await first.locator('#user').innerText()
  assert.match(firstUser, /^rust-\d{4}$/)

  await first.locator('#message').fill('hello from yew')
  await first.locator('#message').press('Enter')
  const typed = `${firstUser}: hello from yew`
  await second.locator(`#messages > li[data-message="${typed}"]`).waitFor()
  await first.locator('#messages > li.mine .note', { hasText: 'sent' }).waitFor()

  const response = await fetch(`${server.url}/rpc/sendMessage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { message: 'server: over http' } }),
  })
  assert.ok(response.ok, `sendMessage answered ${response.status}`)
  for (const page of pages) {
    await page.locator('#messages > li[data-message="server: over http"][data-id]').waitFor()
  }
  const lastId = await second.locator('#messages > li[data-id]').last().getAttribute('data-id')
  assert.equal(await second.locator('#last-event-id').innerText(), lastId)
  assert.deepEqual(
    await second.locator('#messages > li').evaluateAll(items => items.map(li => li.dataset.message)),
    [typed, 'server: over http'],
  )

  await second.screenshot({ path: artifact('yew-chat.png') })
  await context.close()
  assert.deepEqual(errors, [], 'no page errors')
})
