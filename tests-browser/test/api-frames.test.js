// Frames in headless Chromium against the reference server: a frame over `maxFrameBytes` is
// dropped unread with an `ignored` event and the stream goes on, with the socket in the socket
// worker (the default) and on the page; and a burst the page could not take as it came does
// not grow the wasm engine's memory.

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

  test('a burst of 20,000 frames taken at once leaves the wasm memory as it was', async () => {
    const page = await t.openPage()
    // The module's memory, kept as the package instantiates it (the package does not expose it).
    await page.context().addInitScript(() => {
      for (const name of ['instantiate', 'instantiateStreaming']) {
        const original = WebAssembly[name]
        WebAssembly[name] = async function (...args) {
          const result = await original.apply(this, args)
          window.wasmMemory = (result.instance ?? result).exports.memory
          return result
        }
      }
    })
    await page.reload()
    await page.evaluate(() => window.ready)
    const tag = uniqueTag('burst')
    await t.openRun('a', t.options(tag))
    await t.consume('a')
    // Past the de-duplication window (4,096 ids), so the engine holds all it ever will.
    await t.server.publish({ count: 5_000, size: 100, tags: [tag] })
    await t.waitEvents('a', 5_000)
    const before = await page.evaluate(() => window.wasmMemory.buffer.byteLength)
    // While the page's thread is busy the socket worker gathers every frame, and hands the
    // whole burst over in one message once the page is free.
    const busy = page.evaluate(() => {
      const until = performance.now() + 2_000
      while (performance.now() < until);
    })
    await t.server.publish({ count: 20_000, size: 100, tags: [tag] })
    await busy
    const got = await t.waitEvents('a', 25_000, 30_000)
    assert.equal(got.events.length, 25_000)
    const after = await page.evaluate(() => window.wasmMemory.buffer.byteLength)
    assert.equal(after, before, `wasm memory grew from ${before} to ${after} bytes`)
  })
})
