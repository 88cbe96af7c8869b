// The npm package's iterator in headless Chromium against the reference server: `connect()`
// and `for await`, stopping (`return()`, `break`, `AbortSignal`, `await using`), resume after a
// drop and after going offline, connection events, token expiry and refresh. Events are
// published from Node through the server's test endpoints with a tag unique to the test, so
// tests cannot see each other's.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { uniqueTag } from '../lib/browser.js'
import { idRange, useApiPage, WAIT_MS } from '../lib/api-page.js'

describe('JS API in the browser: the iterator', () => {
  const t = useApiPage()

  test('connect() then for await yields the events published with its tag, in order, with their ids', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('events')
    await t.openRun('a', t.options(tag))
    await t.consume('a')
    // An event for another tag first: it must not arrive.
    await t.server.publish({ count: 1, tags: [uniqueTag('other')] })
    const published = await t.server.publish({ count: 3, size: 64, tags: [tag] })
    const got = await t.waitEvents('a', 3)
    assert.deepEqual(got.events.map(e => e.seq), [1, 2, 3])
    assert.deepEqual(got.events.map(e => e.lastEventId), idRange(published.firstId, published.lastId))
    assert.equal(got.state, 'open')
    await sleep(200)
    assert.equal((await t.summary('a')).events.length, 3, 'no event beyond the three published')
  })

  test('return() while next() is pending ends that next() with done, and the server drops the socket', async () => {
    const page = await t.openPage()
    const { clientId } = await t.openRun('a', t.options(uniqueTag('return')))
    await page.evaluate(() => {
      const { it } = window.harness.get('a')
      window.pendingNext = it.next().then(r => ({ done: r.done }), e => ({ error: window.harness.describeError(e) }))
    })
    await sleep(100)
    const result = await page.evaluate(async () => {
      const { it } = window.harness.get('a')
      const within = promise => Promise.race([promise, new Promise(r => setTimeout(() => r('still pending after 5 s'), 5000))])
      const returned = await it.return()
      return { returned: returned.done, pending: await within(window.pendingNext), again: (await within(it.next())).done, state: it.state }
    })
    assert.deepEqual(result, { returned: true, pending: { done: true }, again: true, state: 'closed' })
    await t.server.waitGone(clientId)
  })

  test('return() ends a running for await loop', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('loop')
    const { clientId } = await t.openRun('a', t.options(tag))
    await t.consume('a')
    await t.server.publish({ count: 2, tags: [tag] })
    await t.waitEvents('a', 2)
    await page.evaluate(() => window.harness.get('a').it.return())
    const ended = await t.waitEnded('a')
    assert.deepEqual(ended.ended, { done: true })
    assert.equal(ended.events.length, 2)
    await t.server.waitGone(clientId)
  })

  test('aborting the signal ends the iterator and closes its socket', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('abort')
    const { clientId } = await t.openRun('a', t.options(tag), { abortable: true })
    await t.consume('a')
    await t.server.publish({ count: 1, tags: [tag] })
    await t.waitEvents('a', 1)
    await page.evaluate(() => window.harness.get('a').controller.abort())
    const ended = await t.waitEnded('a')
    assert.deepEqual(ended.ended, { done: true })
    await t.server.waitGone(clientId)
  })

  test('after /test/drop the iterator reconnects and resumes with nothing lost or duplicated; open, reconnecting and resumed fire', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('resume')
    const { clientId, socket: before } = await t.openRun('a', t.options(tag))
    await t.consume('a')
    const first = await t.server.publish({ count: 20, size: 32, tags: [tag] })
    await t.waitEvents('a', 20)
    const dropped = await t.server.drop()
    assert.ok(dropped.dropped >= 1)
    // Published while the socket is gone: only a resume can deliver these.
    const second = await t.server.publish({ count: 20, size: 32, tags: [tag] })
    const got = await t.waitEvents('a', 40)
    const afterDrop = await t.server.waitSubscribed(clientId)
    assert.notEqual(afterDrop.conn, before.conn, 'a new connection')

    assert.deepEqual(got.events.map(e => e.seq), [...Array(20).keys(), ...Array(20).keys()].map(k => k + 1))
    assert.deepEqual(got.events.map(e => e.lastEventId), [
      ...idRange(first.firstId, first.lastId),
      ...idRange(second.firstId, second.lastId),
    ])
    await sleep(200)
    const settled = await t.summary('a')
    assert.equal(settled.events.length, 40, 'no duplicates after the resume')

    const types = settled.notices.map(n => n.type)
    const reconnecting = settled.notices.find(n => n.type === 'reconnecting')
    assert.ok(reconnecting, `a reconnecting notice: ${JSON.stringify(settled.notices)}`)
    assert.equal(reconnecting.state, 'reconnecting')
    assert.ok(Number.isInteger(reconnecting.attempt) && reconnecting.attempt >= 1, `attempt ${reconnecting.attempt}`)
    assert.ok(typeof reconnecting.delayMs === 'number' && reconnecting.delayMs >= 0, `delayMs ${reconnecting.delayMs}`)
    const resumed = settled.notices.find(n => n.type === 'resumed')
    assert.ok(resumed, `a resumed notice: ${JSON.stringify(settled.notices)}`)
    assert.equal(resumed.lastEventId, first.lastId)
    assert.ok(types.indexOf('reconnecting') < types.lastIndexOf('open'), `reopened after reconnecting: ${types}`)
    assert.ok(types.indexOf('reconnecting') < types.indexOf('resumed'), `resumed after reconnecting: ${types}`)
    assert.equal(settled.state, 'open')
  })

  test('the first open fires an open notice and statechange', async () => {
    const page = await t.openPage()
    const seen = await page.evaluate(async ([o]) => {
      const it = await window.harness.pkg.connect(o)
      const changes = []
      it.addEventListener('statechange', e => changes.push(e.detail.state))
      // connect() resolves before the socket can have opened: the notice is still to come.
      const stateAtStart = it.state
      const open = await new Promise((resolve) => {
        it.addEventListener('open', e => resolve(e.detail.state), { once: true })
      })
      await it.return()
      return { stateAtStart, open, changes }
    }, [t.options(uniqueTag('open'))])
    assert.equal(seen.stateAtStart, 'connecting')
    assert.equal(seen.open, 'open')
    assert.ok(seen.changes.includes('closed'), `statechange to closed after return(): ${seen.changes}`)
  })

  test('an expired token without refresh rejects the pending next() with TOKEN_EXPIRED', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('expire')
    // The token lives at most a second: the socket may close before a subscription shows.
    const { clientId } = await page.evaluate(([o]) => window.harness.open('a', o), [t.options(tag, { input: { tags: [tag], ttlSeconds: 1 } })])
    await t.consume('a')
    const ended = await t.waitEnded('a', 15_000)
    assert.equal(ended.ended.error?.code, 'TOKEN_EXPIRED', JSON.stringify(ended))
    assert.equal(ended.ended.error.isDurableIteratorError, true)
    await t.server.waitGone(clientId)
  })

  test('a token refresh keeps the socket: same connection, later expiry, events flow past the first expiry', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('refresh')
    const { clientId, socket: before } = await t.openRun('a', t.options(tag, {
      input: { tags: [tag], ttlSeconds: 3 },
      refreshTokenBeforeExpireInSeconds: 2,
    }))
    await t.consume('a')
    const refreshed = await t.server.waitForSockets(
      sockets => sockets.find(s => s.id === clientId && s.exp > before.exp),
      { timeoutMs: 10_000, what: 'the token to be refreshed' },
    )
    assert.equal(refreshed.conn, before.conn, 'the refresh went over /updateToken on the same socket')
    // Past the first token's expiry the same socket still delivers.
    const wait = before.exp * 1000 + 500 - Date.now()
    if (wait > 0) await sleep(wait)
    await t.server.publish({ count: 1, tags: [tag] })
    const got = await t.waitEvents('a', 1)
    assert.equal(got.events[0].seq, 1)
    assert.equal(got.ended, undefined)
    const now = (await t.server.sockets()).find(s => s.id === clientId)
    assert.equal(now?.conn, before.conn)
    const payload = await page.evaluate(() => window.harness.get('a').it.tokenPayload)
    assert.ok(payload.exp > before.exp, `the iterator holds the new token (exp ${payload.exp} > ${before.exp})`)
    assert.ok(got.notices.some(n => n.type === 'token'), `a token notice: ${JSON.stringify(got.notices)}`)
  })

  test('break out of for await closes the socket', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('break')
    const { clientId } = await t.openRun('a', t.options(tag))
    const loop = page.evaluate(async () => {
      const { it } = window.harness.get('a')
      const seen = []
      for await (const event of it) {
        seen.push(event.seq)
        if (seen.length === 2) break
      }
      return { seen, state: it.state }
    })
    await t.server.publish({ count: 3, tags: [tag] })
    assert.deepEqual(await loop, { seen: [1, 2], state: 'closed' })
    await t.server.waitGone(clientId)
  })

  test('concurrent next() calls resolve in order, one event each', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('concurrent')
    await t.openRun('a', t.options(tag))
    await page.evaluate(() => {
      const { it } = window.harness.get('a')
      window.nexts = Promise.all([it.next(), it.next(), it.next()])
    })
    await t.server.publish({ count: 3, tags: [tag] })
    const results = await page.evaluate(async () => (await window.nexts).map(r => [r.done, r.value.seq]))
    assert.deepEqual(results, [[false, 1], [false, 2], [false, 3]])
  })

  test('connect() with the lastEventId of an earlier iterator replays exactly what came after it', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('cursor')
    await t.openRun('a', t.options(tag))
    await t.consume('a')
    await t.server.publish({ count: 3, tags: [tag] })
    const first = await t.waitEvents('a', 3)
    await page.evaluate(() => window.harness.get('a').it.return())
    // What a page would keep in storage across a reload.
    const saved = first.events[2].lastEventId
    const later = await t.server.publish({ count: 3, tags: [tag] })
    await t.openRun('b', t.options(tag, { lastEventId: saved }))
    await t.consume('b')
    const got = await t.waitEvents('b', 3)
    assert.deepEqual(got.events.map(e => e.seq), [1, 2, 3])
    assert.deepEqual(got.events.map(e => e.lastEventId), idRange(later.firstId, later.lastId))
    await sleep(200)
    assert.equal((await t.summary('b')).events.length, 3)
  })

  test('await using closes the iterator at the end of the block', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('using')
    // A string: the test runner's Node may not parse `await using`; Chromium does.
    const clientId = await page.evaluate(`(async () => {
      let id
      {
        await using it = await window.harness.pkg.connect(${JSON.stringify(t.options(tag))})
        id = it.clientId
        window.usingIterator = it
      }
      return id
    })()`)
    assert.equal(await page.evaluate(() => window.usingIterator.state), 'closed')
    await t.server.waitGone(clientId)
  })

  test('offline: no reconnect attempts until the browser is back online, then a resume delivers what was missed', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('offline')
    const { clientId } = await t.openRun('a', t.options(tag, { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } }))
    await t.consume('a')
    await t.server.publish({ count: 2, tags: [tag] })
    await t.waitEvents('a', 2)
    await page.context().setOffline(true)
    await t.server.drop()
    await page.waitForFunction(() => window.harness.get('a').it.state === 'offline', null, { timeout: WAIT_MS })
    const missed = await t.server.publish({ count: 3, tags: [tag] })
    // Backoff is at most 200 ms here: a second offline must see no new socket at all.
    await sleep(1000)
    assert.equal((await t.server.sockets()).some(s => s.id === clientId), false, 'no socket while offline')
    assert.equal((await t.summary('a')).events.length, 2)
    await page.context().setOffline(false)
    const got = await t.waitEvents('a', 5)
    assert.deepEqual(got.events.map(e => e.seq), [1, 2, 1, 2, 3])
    assert.deepEqual(got.events.slice(2).map(e => e.lastEventId), idRange(missed.firstId, missed.lastId))
    const types = got.notices.map(n => n.type)
    assert.ok(types.includes('offline') && types.includes('resumed'), `offline then resumed: ${types}`)
    await t.server.waitSubscribed(clientId)
  })
})
