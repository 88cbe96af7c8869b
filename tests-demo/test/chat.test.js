// Two tabs of the demo chat (examples/web/) against a real reference server: they chat both
// ways, one tab's connection is dropped with the page's own button and kept down while the
// other tab sends, and after the resume the dropped tab shows every message exactly once.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { artifact, collectErrors, launch, startDemoServer } from '../lib/browser.js'

let server
let browser

before(async () => {
  server = await startDemoServer()
  browser = await launch()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/**
 * Runs before the page's scripts: routes new WebSockets to a closed port while
 * `window.demoNetwork.up` is false, a network outage for this tab only, so the client's
 * reconnects fail until the network is back. Sockets opened on the page go through the page's
 * `WebSocket`; the client's socket worker opens its sockets when the page posts it an open
 * command (`[1, id, url]`, src/socket_worker.rs), so those are redirected at `postMessage`.
 */
function outageSwitch() {
  const Real = window.WebSocket
  const network = { up: true }
  const unreachable = 'ws://127.0.0.1:9/offline'
  window.demoNetwork = network
  window.WebSocket = class extends Real {
    constructor(url, protocols) {
      super(network.up ? url : unreachable, protocols)
    }
  }
  const post = Worker.prototype.postMessage
  Worker.prototype.postMessage = function postMessage(message, ...rest) {
    const opens = Array.isArray(message) && message[0] === 1 && typeof message[2] === 'string'
    return post.call(this, opens && !network.up ? [1, message[1], unreachable] : message, ...rest)
  }
}

async function openTab(context, user, errors, { outage = false } = {}) {
  const page = await context.newPage()
  collectErrors(page, user, errors)
  if (outage) await page.addInitScript(outageSwitch)
  await page.goto(`${server.baseUrl}/?user=${user}`)
  await page.locator('#state[data-state="open"]').waitFor()
  return page
}

async function send(page, text, via = 'singleClient') {
  await page.locator(via === 'singleClient' ? 'label[for="via-rpc"]' : 'label[for="via-http"]').click()
  await page.locator('#composer-input').fill(text)
  await page.locator('#composer-input').press('Enter')
}

/** The raw `message` of every item in the page's list, in order. */
function messages(page) {
  return page.locator('#messages > li').evaluateAll(items => items.map(li => li.dataset.message))
}

/** Event ids of the items that came from the stream, in order. */
function eventIds(page) {
  return page.locator('#messages > li[data-id]').evaluateAll(items => items.map(li => li.dataset.id))
}

function logText(page) {
  return page.locator('#log').innerText()
}

function countOf(list, value) {
  return list.filter(item => item === value).length
}

test('two tabs chat, one is dropped and resumes with every message exactly once', async () => {
  const errors = []
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const alice = await openTab(context, 'alice', errors, { outage: true })
  const bob = await openTab(context, 'bob', errors)

  // Chat both ways, through the object method and through the HTTP procedure.
  await send(alice, 'hello bob')
  await bob.locator('#messages > li[data-message="alice: hello bob"]').waitFor()
  await send(bob, 'hi alice')
  await alice.locator('#messages > li[data-message="bob: hi alice"]').waitFor()
  await send(bob, 'over http before the drop', 'sendMessage')
  await alice.locator('#messages > li[data-message="bob: over http before the drop"]').waitFor()
  await bob.locator('#messages > li[data-message="bob: over http before the drop"]').waitFor()
  const lastBeforeDrop = await alice.locator('#last-event-id').innerText()
  assert.match(lastBeforeDrop, /^\d+$/, 'events carry ids (resume is on)')

  // Alice's network goes down and her button drops her socket on the server.
  await alice.evaluate(() => { window.demoNetwork.up = false })
  const bobOpensBefore = (await logText(bob)).match(/\bopen\b/g)?.length ?? 0
  await alice.locator('#drop').click()
  // The badge names the attempt and its delay (checked in the page: between attempts the
  // state flickers through "connecting" for a moment).
  await alice.waitForFunction(() => document.getElementById('state').dataset.state === 'reconnecting'
    && /^Reconnecting · attempt \d+ in \d+ ms$/.test(document.getElementById('state').innerText.trim()))

  // Only Alice's socket went: Bob stays connected and sends while she is down.
  assert.equal(await bob.locator('#state').getAttribute('data-state'), 'open')
  assert.equal((await logText(bob)).match(/\bopen\b/g)?.length ?? 0, bobOpensBefore, 'bob was not dropped')
  const whileDown = ['bob: while you were away 1', 'bob: while you were away 2']
  await send(bob, 'while you were away 1')
  await send(bob, 'while you were away 2')
  await send(bob, 'while you were away 3', 'sendMessage')
  whileDown.push('bob: while you were away 3')
  await bob.locator('#messages > li[data-message="bob: while you were away 3"][data-id]').waitFor()
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages > li.mine .note')]
    .every(note => note.textContent === 'sent' || note.textContent.startsWith('#')))
  assert.notEqual(await alice.locator('#state').getAttribute('data-state'), 'open', 'alice was down while bob sent')
  for (const message of whileDown) assert.equal(countOf(await messages(alice), message), 0)
  await alice.screenshot({ path: artifact('demo-chat-down.png') })

  // The network comes back: Alice resumes after the last id she saw.
  await alice.evaluate(() => { window.demoNetwork.up = true })
  await alice.locator('#state[data-state="open"]').waitFor({ timeout: 20_000 })
  await alice.locator('#messages > li[data-message="bob: while you were away 3"]').waitFor()
  await alice.waitForTimeout(500) // a late duplicate would arrive now; none must
  assert.match(await logText(alice), new RegExp(`resumed from id ${lastBeforeDrop}\\b`))

  const expected = [
    'alice: hello bob',
    'bob: hi alice',
    'bob: over http before the drop',
    ...whileDown,
  ]
  assert.deepEqual(await messages(alice), expected, 'alice sees every message once, in order')
  const ids = await eventIds(alice)
  assert.equal(new Set(ids).size, ids.length, `event ids are unique: ${ids}`)
  assert.deepEqual([...ids].sort((a, b) => Number(a) - Number(b)), ids, 'event ids rise')
  assert.equal(await alice.locator('#last-event-id').innerText(), ids.at(-1))

  // Bob saw each message once too: his own singleClient copies are local, his sendMessage
  // ones came back as events.
  assert.deepEqual(await messages(bob), expected)

  await alice.screenshot({ path: artifact('demo-chat-resumed.png'), fullPage: true })
  await bob.screenshot({ path: artifact('demo-chat-sender.png') })
  await context.close()
  assert.deepEqual(errors, [], 'no page errors')
})
