// Frames the iterator cannot use, in headless Chromium against the reference server: a frame
// over `maxFrameBytes` is dropped unread with an `ignored` event and the stream goes on, with
// the socket in the socket worker (the default) and on the page.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { uniqueTag } from '../lib/browser.js'
import { useApiPage } from '../lib/api-page.js'

describe('JS API in the browser: frames it cannot use', () => {
  const t = useApiPage()

  for (const offMainThread of [true, false]) {
    test(`maxFrameBytes drops a larger frame with an ignored event, the stream goes on (offMainThread: ${offMainThread})`, async () => {
      const page = await t.openPage()
      const tag = uniqueTag('large')
      await t.openRun('a', t.options(tag, { maxFrameBytes: 2_000, offMainThread }))
      await page.evaluate(() => {
        window.ignored = []
        window.harness.get('a').it.addEventListener('ignored', event => window.ignored.push(event.detail))
      })
      await t.consume('a')
      const small = await t.server.publish({ count: 1, size: 100, tags: [tag] })
      await t.server.publish({ count: 1, size: 5_000, tags: [tag] })
      const after = await t.server.publish({ count: 1, size: 100, tags: [tag] })
      const got = await t.waitEvents('a', 2)
      assert.deepEqual(got.events.map(e => e.lastEventId), [small.firstId, after.firstId])
      const ignored = await page.evaluate(() => window.ignored)
      assert.equal(ignored.length, 1, JSON.stringify(ignored))
      assert.equal(ignored[0].code, 'FRAME_TOO_LARGE')
      assert.match(ignored[0].reason, /^frame of \d+ bytes exceeds the limit of 2000 bytes$/)
      assert.equal(got.state, 'open')
    })
  }
})
