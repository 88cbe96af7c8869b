// Exactly once and in order across resumes whose replay crosses 9 -> 10, 99 -> 100 and
// 999 -> 1000. Against our server the replay comes in integer order; against the real oRPC
// object's behaviour (DURABLE_ITERATOR_COMPAT=upstream, as `cargo xtask test` runs this file
// a second time) it comes in text order (`10, 11, .., 15, 6, 7, 8, 9`), and the client must
// still yield 6..15 in order. One test per file: event ids are per server, and this one
// counts them from 1.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { uniqueTag } from '../lib/browser.js'
import { idRange, useApiPage } from '../lib/api-page.js'

describe('JS API in the browser: order across replays', () => {
  const t = useApiPage()

  test('resumes whose replays cross 9->10, 99->100 and 999->1000 yield every event once, in order', async () => {
    await t.openPage()
    const tag = uniqueTag('order')
    // A resume point from the start (the first cut comes after 5 events), and a reconnect
    // slow enough that the events published right after each cut wait in resume storage.
    const options = t.options(tag, { lastEventId: '0', reconnect: { initialDelayMs: 400, maxDelayMs: 400 } })
    await t.openRun('a', options)
    await t.consume('a')
    let published = 0
    const publish = async (count) => {
      await t.server.publish({ count, size: 16, tags: [tag] })
      published += count
    }
    for (const cut of [5, 95, 995]) {
      await publish(cut - published)
      await t.waitEvents('a', published)
      const { dropped } = await t.server.drop()
      assert.ok(dropped >= 1, 'the socket was dropped')
      await publish(10)
      await t.waitEvents('a', published)
    }
    const got = await t.summary('a')
    assert.deepEqual(got.events.map(e => e.lastEventId), idRange(1, published))
    assert.equal(got.notices.filter(n => n.type === 'resumed').length, 3, JSON.stringify(got.notices))
  })
})
