// The oRPC drop-in: the docs' client example (pages/orpc.js: the real @orpc/client 1.16.1 with
// `DurableIteratorLinkPlugin` from `durable-iterator-wasm/orpc`) in headless Chromium against
// the reference server. The demo's onMessage tokens carry no tags and sendMessage publishes to
// everyone, so this file's tests share the room; each test starts its own iterators after the
// previous test's page closed (closing the page closes its sockets).

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { screenshot, useEnvironment } from '../lib/browser.js'
import { UNKNOWN_NESTED_PATH } from '../lib/compat.js'

const WAIT_MS = 10_000

describe('oRPC drop-in in the browser', () => {
  const t = useEnvironment()
  let page

  async function openPage() {
    page = await t.open('orpc.html')
    return page
  }

  /** Runs the docs' `for await` loop as iterator `name` and waits for its subscription. */
  async function listen(name, input, flags) {
    const { clientId } = await page.evaluate(([n, i, f]) => window.chat.listen(n, i, f), [name, input, flags])
    const socket = await t.env.server.waitSubscribed(clientId)
    return { clientId, socket }
  }

  const status = name => page.evaluate(n => window.chat.status(n), name)

  async function waitMessages(name, count) {
    await page.waitForFunction(([n, c]) => window.chat.get(n).messages.length >= c, [name, count], { timeout: WAIT_MS })
      .catch(async (error) => {
        throw new Error(`iterator ${name} did not get ${count} messages: ${JSON.stringify(await status(name))}`, { cause: error })
      })
    return status(name)
  }

  async function waitEnded(name) {
    await page.waitForFunction(n => window.chat.get(n).ended !== undefined, name, { timeout: WAIT_MS })
    return status(name)
  }

  test('the docs example: client.onMessage(), for await, client.sendMessage() is received', async () => {
    await openPage()
    await listen('first')
    await listen('second')
    await page.evaluate(() => window.chat.send('Hello, world!'))
    await page.evaluate(() => window.chat.send('Hello again'))
    const first = await waitMessages('first', 2)
    const second = await waitMessages('second', 2)
    assert.deepEqual(first.messages, ['Hello, world!', 'Hello again'])
    assert.deepEqual(second.messages, ['Hello, world!', 'Hello again'])
    assert.equal(first.state, 'open')
    const shown = await page.locator('#iterator-first li').allTextContents()
    assert.deepEqual(shown, ['Received message: Hello, world!', 'Received message: Hello again'])
  })

  test('Method RPC: singleClient reaches the other iterator, not the sender; routerClient.ping and echo', async () => {
    await openPage()
    await listen('alice')
    await listen('bob')
    const answers = await page.evaluate(async () => {
      const iterator = window.chat.get('alice').iterator
      // Call RPC methods
      await iterator.singleClient({ message: 'Hello, world!' })
      // With the retry context the docs show
      await iterator.singleClient({ message: 'with retry' }, { context: { retry: 3 } })
      // Call nested router methods
      const response = await iterator.routerClient.ping()
      const echoResponse = await iterator.routerClient.echo({ text: 'Hello' })
      window.chat.log(`ping -> ${response}; echo -> ${echoResponse}`)
      return { response, echoResponse }
    })
    assert.deepEqual(answers, { response: 'pong', echoResponse: 'Echo: Hello' })
    const bob = await waitMessages('bob', 2)
    assert.deepEqual(bob.messages, ['Hello, world!', 'with retry'])
    // Alice's next message is one sent after her calls: hers never came back to her.
    await page.evaluate(() => window.chat.send('marker'))
    const alice = await waitMessages('alice', 1)
    assert.deepEqual(alice.messages, ['marker'])
    await waitMessages('bob', 3)
    await screenshot(page, 'orpc-drop-in')
  })

  test('Stopping: aborting the signal ends the for await loop (the docs\' setTimeout example)', async () => {
    await openPage()
    const { clientId } = await listen('stoppable', undefined, { abortable: true })
    await page.evaluate(() => window.chat.send('before the abort'))
    await waitMessages('stoppable', 1)
    await page.evaluate(() => {
      const { controller } = window.chat.get('stoppable')
      // Stop the iterator after 1 second
      setTimeout(() => {
        controller.abort()
      }, 1000)
    })
    const ended = await waitEnded('stoppable')
    assert.deepEqual(ended.ended, { done: true })
    assert.deepEqual(ended.messages, ['before the abort'])
    await t.env.server.waitGone(clientId)
  })

  test('Stopping: iterator.return() ends the for await loop', async () => {
    await openPage()
    const { clientId } = await listen('returning')
    await page.evaluate(() => {
      const { iterator } = window.chat.get('returning')
      setTimeout(() => {
        iterator.return()
      }, 1000)
    })
    const ended = await waitEnded('returning')
    assert.deepEqual(ended.ended, { done: true })
    await t.env.server.waitGone(clientId)
  })

  test('errors of RPC calls are ORPCError instances with code and status, and reach the onError interceptor', async () => {
    await openPage()
    await listen('errors')
    const errors = await page.evaluate(async () => {
      const iterator = window.chat.get('errors').iterator
      const outcome = promise => promise.then(value => ({ value }), error => window.chat.describeError(error))
      return {
        nested: await outcome(iterator.routerClient.nope()),
        badInput: await outcome(iterator.singleClient({ message: 42 })),
        // An error of the app procedure itself (upstream's RPCLink, not the plugin).
        appCall: await outcome(window.chat.client.sendMessage({})),
        notAllowed: typeof iterator.notAllowed,
        seen: window.chat.rpcErrors.map(e => [e.code, e.isORPCError]),
      }
    })
    assert.equal(errors.nested.isORPCError, true)
    assert.equal(errors.nested.code, UNKNOWN_NESTED_PATH.code)
    assert.equal(errors.nested.status, UNKNOWN_NESTED_PATH.status)
    assert.match(errors.nested.message, UNKNOWN_NESTED_PATH.message)
    assert.equal(errors.badInput.isORPCError, true)
    assert.equal(errors.badInput.code, 'BAD_REQUEST')
    assert.equal(errors.badInput.status, 400)
    assert.equal(errors.appCall.isORPCError, true)
    assert.equal(errors.appCall.code, 'BAD_REQUEST')
    assert.equal(errors.notAllowed, 'undefined')
    assert.deepEqual(errors.seen, [[UNKNOWN_NESTED_PATH.code, true], ['BAD_REQUEST', true]])
  })

  test('refreshTokenBeforeExpireInSeconds through the plugin keeps the socket and the stream', async () => {
    await openPage()
    const { clientId, socket: before } = await listen('refreshing', { ttlSeconds: 3 }, { refreshing: true })
    const first = await page.evaluate(() => window.chat.tokenOf('refreshing'))
    assert.equal(typeof first.token, 'string')
    assert.equal(first.token, first.own)
    const refreshed = await t.env.server.waitForSockets(
      sockets => sockets.find(s => s.id === clientId && s.exp > before.exp),
      { what: 'the token to be refreshed' },
    )
    assert.equal(refreshed.conn, before.conn, 'refreshed over /updateToken on the same socket')
    const wait = before.exp * 1000 + 500 - Date.now()
    if (wait > 0) await sleep(wait)
    await page.evaluate(() => window.chat.send('after the first expiry'))
    const got = await waitMessages('refreshing', 1)
    assert.deepEqual(got.messages, ['after the first expiry'])
    assert.equal(got.ended, undefined)
    assert.ok(got.exp > before.exp)
    assert.equal((await t.env.server.sockets()).find(s => s.id === clientId)?.conn, before.conn)
    const second = await page.evaluate(() => window.chat.tokenOf('refreshing'))
    assert.notEqual(second.token, first.token, 'getClientDurableIteratorToken follows the refresh')
    assert.equal(second.token, second.own)
  })

  test('getClientDurableIteratorToken answers undefined for anything but the plugin\'s iterators', async () => {
    await openPage()
    const answers = await page.evaluate(() => {
      const { getClientDurableIteratorToken: get } = window.chat
      const lookalike = { token: 'x', [Symbol.asyncIterator]() { return this }, next: async () => ({ done: true }) }
      return [get(undefined), get(null), get('token'), get({ token: 'x' }), get(lookalike)].map(String)
    })
    assert.deepEqual(answers, ['undefined', 'undefined', 'undefined', 'undefined', 'undefined'])
  })

  test('a dropped socket resumes through the plugin: messages sent meanwhile arrive once', async () => {
    await openPage()
    const { clientId, socket: before } = await listen('resuming')
    await page.evaluate(() => window.chat.send('one'))
    await waitMessages('resuming', 1)
    await t.env.server.drop()
    await page.evaluate(() => window.chat.send('two'))
    await page.evaluate(() => window.chat.send('three'))
    const got = await waitMessages('resuming', 3)
    assert.deepEqual(got.messages, ['one', 'two', 'three'])
    const now = await t.env.server.waitSubscribed(clientId)
    assert.notEqual(now.conn, before.conn)
    await sleep(200)
    assert.deepEqual((await status('resuming')).messages, ['one', 'two', 'three'])
  })
})
