// The smoke test both Rust UI examples (examples/leptos/, examples/yew/) pass: two tabs of the
// compiled app against a real reference server; a message typed in one (singleClient over its
// socket) and one published over HTTP (sendMessage) both show up in the other tab. The apps
// share their markup contract (#state, #user, #message, #messages, #last-event-id), so one
// test body checks both.

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { artifact, collectErrors, launch, ROOT, startDemoServer } from './browser.js'

/**
 * Registers the chat test of one example app.
 * @param {{ name: string, slug: string, siteEnv: string }} example `name` for the test title,
 *   `slug` for the default site directory (`target/<slug>-site`), the typed text and the
 *   screenshot (`<slug>-chat.png`), `siteEnv` the variable that names a built site.
 */
export function rustChatTest({ name, slug, siteEnv }) {
  // `cargo xtask test` builds the site and always sets the variable; a bare `npm test` without
  // a built site skips the test visibly instead of failing on a missing build.
  const siteDir = process.env[siteEnv] || join(ROOT, `target/${slug}-site`)
  const skip = !existsSync(join(siteDir, 'index.html')) && !process.env[siteEnv]
    ? `${siteDir} is not built (cargo xtask test builds it)`
    : false

  let server
  let browser

  before(async () => {
    if (skip) return
    server = await startDemoServer({ siteDir })
    browser = await launch()
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test(`the ${name} chat receives messages from another tab and over HTTP`, { skip }, async () => {
    const errors = []
    const context = await browser.newContext({ viewport: { width: 900, height: 760 } })
    const pages = []
    for (const label of ['first', 'second']) {
      const page = await context.newPage()
      collectErrors(page, label, errors)
      await page.goto(`${server.baseUrl}/`)
      await page.locator('#state[data-state="open"]').waitFor()
      pages.push(page)
    }
    const [first, second] = pages
    const firstUser = await first.locator('#user').innerText()
    assert.match(firstUser, /^rust-\d{4}$/)

    await first.locator('#message').fill(`hello from ${slug}`)
    await first.locator('#message').press('Enter')
    const typed = `${firstUser}: hello from ${slug}`
    await second.locator(`#messages > li[data-message="${typed}"]`).waitFor()
    await first.locator('#messages > li.mine .note', { hasText: 'sent' }).waitFor()

    const response = await fetch(`${server.baseUrl}/rpc/sendMessage`, {
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

    await second.screenshot({ path: artifact(`${slug}-chat.png`) })
    await context.close()
    assert.deepEqual(errors, [], 'no page errors')
  })
}
