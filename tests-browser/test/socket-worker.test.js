// Where the socket lives: by default in the page's socket worker (frames reach the page in
// batches), on the page with `offMainThread: false`, and on the page when a
// Content-Security-Policy forbids workers. The page's `WebSocket` is wrapped before connecting
// so the tests see how many sockets the page itself constructed.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { uniqueTag } from '../lib/browser.js'
import { CHANNEL } from '../../test-support/server.js'
import { idRange, useApiPage } from '../lib/api-page.js'

/** Counts the sockets the page constructs from now on (`window.pageSockets`). */
function countPageSockets(page) {
  return page.evaluate(() => {
    const Native = window.WebSocket
    window.pageSockets = 0
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args)
        window.pageSockets++
      }
    }
  })
}

const socketWorkers = page => page.workers().filter(worker => worker.url().startsWith('blob:'))

describe('JS API in the browser: the socket worker', () => {
  const t = useApiPage()

  test('by default the socket runs in one worker: a burst arrives complete and in order, the page opens no socket', async () => {
    const page = await t.openPage()
    await countPageSockets(page)
    const tag = uniqueTag('worker')
    const { clientId } = await t.openRun('a', t.options(tag))
    await t.openRun('b', t.options(tag))
    await t.consume('a')
    await t.consume('b')
    const published = await t.server.publish({ count: 2_000, size: 100, tags: [tag] })
    const ids = idRange(published.firstId, published.lastId)
    for (const name of ['a', 'b']) {
      const got = await t.waitEvents(name, 2_000)
      assert.deepEqual(got.events.map(e => e.seq), ids.map((_, i) => i + 1), `run ${name}: every event once, in order`)
      assert.deepEqual(got.events.map(e => e.lastEventId), ids)
    }
    assert.equal(await page.evaluate(() => window.pageSockets), 0, 'no WebSocket constructed on the page')
    assert.equal(socketWorkers(page).length, 1, 'both iterators share one worker')

    // A drop travels through the worker like any close: the iterator resumes after the last id.
    await t.server.drop()
    const more = await t.server.publish({ count: 3, tags: [tag] })
    const after = await t.waitEvents('a', 2_003)
    assert.deepEqual(after.events.slice(2_000).map(e => e.lastEventId), idRange(more.firstId, more.lastId))
    assert.ok(after.notices.some(n => n.type === 'reconnecting'), 'the drop was noticed')
    assert.equal(await page.evaluate(() => window.pageSockets), 0)

    // Stopping closes the worker's socket: the server sees it go.
    await page.evaluate(() => window.harness.get('a').it.return())
    await t.server.waitGone(clientId)
  })

  test('a blocked page does not make the worker hoard frames: past 64 MiB it closes with 1013 and the iterator resumes, nothing lost', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('backlog')
    const { clientId } = await t.openRun('a', t.options(tag))
    await t.consume('a')
    // About 105 MB of events while the page's thread is blocked, by synchronous requests from
    // the page itself, until the server has written them all to the socket: the worker keeps
    // reading meanwhile.
    const published = await page.evaluate(([channel, tags, clientId]) => {
      const request = (method, path, body) => {
        const xhr = new XMLHttpRequest()
        xhr.open(method, path, false)
        xhr.setRequestHeader('content-type', 'application/json')
        xhr.send(body === undefined ? null : JSON.stringify(body))
        return JSON.parse(xhr.responseText)
      }
      const receipt = request('POST', '/test/publish', { channel, count: 1_600, size: 65_536, tags })
      const deadline = Date.now() + 30_000
      const queued = () => request('GET', `/test/sockets?channel=${encodeURIComponent(channel)}`)
        .sockets.find(s => s.id === clientId)?.queued ?? 0
      while (queued() > 0 && Date.now() < deadline) { /* the page stays blocked */ }
      const settle = Date.now() + 500
      while (Date.now() < settle) { /* let the worker read the last frames */ }
      return receipt
    }, [CHANNEL, [tag], clientId])
    const got = await t.waitEvents('a', 1_600, 60_000)
    assert.deepEqual(got.events.map(e => e.lastEventId), idRange(published.firstId, published.lastId), 'every event once, in order')
    const closes = got.notices.filter(n => n.type === 'reconnecting').map(n => n.code)
    assert.ok(closes.includes(1013), `the worker closed the socket for its backlog (reconnect codes: ${closes})`)
    assert.ok(got.notices.some(n => n.type === 'resumed'), 'the iterator resumed after the last event the page took')
  })

  test('offMainThread: false opens the socket on the page', async () => {
    const page = await t.openPage()
    await countPageSockets(page)
    const tag = uniqueTag('page-socket')
    await t.openRun('a', t.options(tag, { offMainThread: false }))
    await t.consume('a')
    await t.server.publish({ count: 3, tags: [tag] })
    const got = await t.waitEvents('a', 3)
    assert.deepEqual(got.events.map(e => e.seq), [1, 2, 3])
    assert.equal(await page.evaluate(() => window.pageSockets), 1)
    assert.equal(socketWorkers(page).length, 0, 'no worker started')
  })

  test('a page whose Content-Security-Policy forbids workers falls back to a page socket', async () => {
    const page = await t.openPage('api-csp.html')
    await countPageSockets(page)
    const tag = uniqueTag('csp')
    await t.openRun('a', t.options(tag))
    await t.consume('a')
    const published = await t.server.publish({ count: 5, tags: [tag] })
    const got = await t.waitEvents('a', 5)
    assert.deepEqual(got.events.map(e => e.lastEventId), idRange(published.firstId, published.lastId))
    assert.equal(await page.evaluate(() => window.pageSockets), 1)
    assert.equal(socketWorkers(page).length, 0)
  })
})
