// oRPC's TanStack Query integration (`@orpc/tanstack-query` over `@tanstack/query-core`) with a
// durable iterator from `durable-iterator-wasm/orpc`, in headless Chromium against the reference
// server (pages/tanstack.js): a streamed query accumulates events, a live query holds the
// latest, both survive a dropped socket by resuming, and cancelling the query (or removing its
// last observer) ends the iterator and closes its socket on the server.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { screenshot, uniqueTag, useEnvironment } from '../lib/browser.js'

const WAIT_MS = 10_000

describe('TanStack Query over the oRPC drop-in', () => {
  const t = useEnvironment()
  let page

  const status = name => page.evaluate(n => window.tanstack.status(n), name)
  const send = (message, tag) => page.evaluate(([m, t]) => window.tanstack.send(m, [t]), [message, tag])

  /** Starts query `name` and waits until the server holds its subscribed socket. */
  async function observe(name, kind, tag) {
    page = await t.open('tanstack.html')
    const { clientId } = await page.evaluate(([n, k, t]) => window.tanstack.observe(n, k, t), [name, kind, tag])
    const socket = await t.env.server.waitSubscribed(clientId)
    assert.deepEqual(socket.tags, [tag])
    return { clientId, socket }
  }

  /** Waits until `check(status)` holds for query `name`; returns that status. */
  async function waitStatus(name, what, check) {
    const deadline = Date.now() + WAIT_MS
    let last
    while (Date.now() < deadline) {
      last = await status(name)
      if (check(last)) return last
      await sleep(25)
    }
    throw new Error(`query ${name}: timed out waiting for ${what}; last: ${JSON.stringify(last)}`)
  }

  const messages = data => (data ?? []).map(event => event.message)

  test('experimental_streamedOptions: events accumulate, a drop resumes with nothing lost or doubled, cancelQueries ends the iterator and its socket', async () => {
    const tag = uniqueTag('streamed')
    const { clientId, socket: first } = await observe('chat', 'streamed', tag)

    await send('one', tag)
    await send('two', tag)
    await send('not for this query', uniqueTag('other'))
    await send('three', tag)
    const got = await waitStatus('chat', 'three events', s => s.data?.length >= 3)
    assert.deepEqual(messages(got.data), ['one', 'two', 'three'])
    assert.equal(got.status, 'success')
    assert.equal(got.fetchStatus, 'fetching', 'a streamed query keeps fetching while the stream is open')

    // The network drops the socket; what is sent meanwhile arrives after the resume.
    await t.env.server.drop()
    await send('four', tag)
    await send('five', tag)
    const resumed = await waitStatus('chat', 'five events', s => s.data?.length >= 5)
    assert.deepEqual(messages(resumed.data), ['one', 'two', 'three', 'four', 'five'])
    const now = await t.env.server.waitSubscribed(clientId)
    assert.notEqual(now.conn, first.conn, 'the iterator resumed on a new connection')
    assert.equal(resumed.iteratorState, 'open')
    await screenshot(page, 'tanstack-streamed')

    await page.evaluate(() => window.tanstack.cancel('chat'))
    await t.env.server.waitGone(clientId)
    const cancelled = await waitStatus('chat', 'the fetch to stop', s => s.fetchStatus === 'idle')
    assert.equal(cancelled.iteratorState, 'closed')

    // The stream is over: a message sent now reaches no one.
    const before = (await status('chat')).data?.length ?? 0
    await send('after the cancel', tag)
    await sleep(300)
    const after = await status('chat')
    assert.ok(!messages(after.data).includes('after the cancel'))
    assert.ok((after.data?.length ?? 0) <= before)
  })

  test('experimental_liveOptions: the data is the latest event, across a drop; removing the last observer ends the iterator and its socket', async () => {
    const tag = uniqueTag('live')
    const { clientId, socket: first } = await observe('latest', 'live', tag)

    await send('first', tag)
    assert.deepEqual((await waitStatus('latest', 'the first event', s => s.data?.message === 'first')).data, { message: 'first' })
    await send('second', tag)
    const second = await waitStatus('latest', 'the second event', s => s.data?.message === 'second')
    assert.equal(second.status, 'success')

    await t.env.server.drop()
    await send('after the drop', tag)
    await waitStatus('latest', 'the event sent during the drop', s => s.data?.message === 'after the drop')
    const now = await t.env.server.waitSubscribed(clientId)
    assert.notEqual(now.conn, first.conn, 'the iterator resumed on a new connection')

    // A component unmounting: TanStack Query cancels a fetch whose signal was consumed.
    await page.evaluate(() => window.tanstack.unsubscribe('latest'))
    await t.env.server.waitGone(clientId)
    const iteratorState = await page.evaluate(() => window.tanstack.status('latest').iteratorState)
    assert.equal(iteratorState, 'closed')
  })
})
