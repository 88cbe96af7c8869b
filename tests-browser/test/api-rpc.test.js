// The npm package's RPC surface in headless Chromium against the reference server: the proxy
// of the methods a token allows, calls and their errors, rich types in call inputs, calls made
// before the socket opens and while it reconnects, and `connect()` of a plain procedure.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { screenshot, uniqueTag } from '../lib/browser.js'
import { useApiPage, WAIT_MS } from '../lib/api-page.js'
import { UNKNOWN_NESTED_PATH } from '../lib/compat.js'

describe('JS API in the browser: RPC calls', () => {
  const t = useApiPage()

  test('routerClient.echo and routerClient.ping answer over the socket', async () => {
    const page = await t.openPage()
    await t.openRun('a', t.options(uniqueTag('rpc')))
    const answers = await page.evaluate(async () => {
      const { it } = window.harness.get('a')
      return {
        echo: await it.routerClient.echo({ text: 'hello from the browser' }),
        ping: await it.routerClient.ping(),
        twice: await Promise.all([it.routerClient.echo({ text: '1' }), it.routerClient.echo({ text: '2' })]),
      }
    })
    assert.deepEqual(answers, {
      echo: 'Echo: hello from the browser',
      ping: 'pong',
      twice: ['Echo: 1', 'Echo: 2'],
    })
  })

  test('singleClient reaches the other iterator but not the sender', async () => {
    const page = await t.openPage()
    const senderTag = uniqueTag('sender')
    await t.openRun('sender', t.options(senderTag))
    await t.openRun('other', t.options(uniqueTag('other')))
    await t.consume('sender')
    await t.consume('other')
    const output = await page.evaluate(() => window.harness.get('sender').it.singleClient({ message: 'to the others' }))
    assert.equal(output, undefined)
    const other = await t.waitEvents('other', 1)
    assert.equal(other.events[0].message, 'to the others')
    // The sender's next event is a marker published after the call: the message never came.
    await t.server.publish({ count: 1, tags: [senderTag] })
    const sender = await t.waitEvents('sender', 1)
    assert.deepEqual(sender.events.map(e => [e.message, e.seq]), [[undefined, 1]])
  })

  test('only the methods of the token\'s rpc list are on the iterator', async () => {
    const page = await t.openPage()
    const { tokenPayload } = await t.openRun('a', t.options(uniqueTag('proxy')))
    assert.deepEqual(tokenPayload.rpc, ['singleClient', 'routerClient'])
    const view = await page.evaluate(() => {
      const { it } = window.harness.get('a')
      return {
        nopeIn: 'nope' in it,
        nope: typeof it.nope,
        router: typeof it.router,
        singleClientIn: 'singleClient' in it,
        singleClient: typeof it.singleClient,
        routerClient: typeof it.routerClient,
        echo: typeof it.routerClient.echo,
        // An iterator must never look like a promise.
        then: typeof it.then,
        next: typeof it.next,
        asyncIterator: typeof it[Symbol.asyncIterator],
      }
    })
    assert.deepEqual(view, {
      nopeIn: false,
      nope: 'undefined',
      router: 'undefined',
      singleClientIn: true,
      singleClient: 'function',
      routerClient: 'function',
      echo: 'function',
      then: 'undefined',
      next: 'function',
      asyncIterator: 'function',
    })
  })

  test('an unknown nested path rejects with DurableIteratorError NOT_FOUND 404 (upstream: 500); a bad input with BAD_REQUEST 400', async () => {
    const page = await t.openPage()
    await t.openRun('a', t.options(uniqueTag('notfound')))
    const errors = await page.evaluate(async () => {
      const { it } = window.harness.get('a')
      const { describeError } = window.harness
      const outcome = promise => promise.then(value => ({ value }), error => describeError(error))
      return {
        nested: await outcome(it.routerClient.nope()),
        badInput: await outcome(it.routerClient.echo({ text: 42 })),
        // The socket is still usable after failed calls.
        after: await it.routerClient.ping(),
      }
    })
    assert.equal(errors.nested.isDurableIteratorError, true)
    assert.equal(errors.nested.name, 'DurableIteratorError')
    assert.equal(errors.nested.code, UNKNOWN_NESTED_PATH.code)
    assert.equal(errors.nested.status, UNKNOWN_NESTED_PATH.status)
    assert.equal(errors.badInput.isDurableIteratorError, true)
    assert.equal(errors.badInput.code, 'BAD_REQUEST')
    assert.equal(errors.badInput.status, 400)
    assert.equal(errors.after, 'pong')
  })

  test('rich types in call inputs reach the object decoded (Date, BigInt, Map, Set, URL, undefined)', async () => {
    const page = await t.openPage()
    await t.openRun('a', t.options(uniqueTag('rich')))
    const answers = await page.evaluate(async () => {
      const { it } = window.harness.get('a')
      const date = new Date(Date.UTC(2024, 0, 2, 3, 4, 5))
      return {
        // The object decodes the Date meta entry; the text it checks is the ISO string.
        date: await it.routerClient.echo({ text: date }),
        // Nested rich values beside the text: a wrong meta path would be a BAD_REQUEST.
        nested: await it.routerClient.echo({
          text: 'rich',
          extra: new Map([[1n, new Set([date, undefined, new URL('https://example.com/x')])]]),
          big: 12345678901234567890n,
          skipped: undefined,
        }),
      }
    })
    assert.deepEqual(answers, { date: 'Echo: 2024-01-02T03:04:05.000Z', nested: 'Echo: rich' })
  })

  test('RPC calls made before the socket opens, and while it reconnects after a drop, are answered', async () => {
    const page = await t.openPage()
    const early = await page.evaluate(async ([o]) => {
      const it = await window.harness.pkg.connect(o)
      window.early = it
      const stateAtCall = it.state
      return { stateAtCall, answer: await it.routerClient.ping() }
    }, [t.options(uniqueTag('early'))])
    assert.deepEqual(early, { stateAtCall: 'connecting', answer: 'pong' })
    const clientId = await page.evaluate(() => window.early.clientId)
    const before = await t.server.waitSubscribed(clientId)
    // The calls start the moment the iterator notices the drop: while it has no socket.
    await page.evaluate(() => {
      const it = window.early
      it.addEventListener('reconnecting', () => {
        window.duringDrop ??= {
          state: it.state,
          answers: Promise.all([1, 2, 3, 4, 5].map(k => it.routerClient.echo({ text: `after drop ${k}` }))),
        }
      })
    })
    await t.server.drop()
    await page.waitForFunction(() => window.duringDrop !== undefined, null, { timeout: WAIT_MS })
    const during = await page.evaluate(async () => ({ state: window.duringDrop.state, answers: await window.duringDrop.answers }))
    assert.deepEqual(during, { state: 'reconnecting', answers: [1, 2, 3, 4, 5].map(k => `Echo: after drop ${k}`) })
    const after = await t.server.waitSubscribed(clientId)
    assert.notEqual(after.conn, before.conn)
  })

  test('aborts and calls on an ended iterator fail fast with codes', async () => {
    const page = await t.openPage()
    await t.openRun('a', t.options(uniqueTag('aborts')))
    const outcome = await page.evaluate(async ([o]) => {
      const { pkg, describeError, get } = window.harness
      const within = promise => Promise.race([
        promise.then(value => ({ value }), describeError),
        new Promise(r => setTimeout(() => r('still pending after 5 s'), 5000)),
      ])
      const { it } = get('a')
      const aborted = AbortSignal.abort(new Error('stop'))
      return {
        preAbortedConnect: await within(pkg.connect({ ...o, signal: aborted })),
        preAbortedCall: await within(it.routerClient.echo({ text: 'x' }, { signal: aborted })),
        stillWorks: await within(it.routerClient.ping()),
        unknownProcedure: await within(pkg.connect({ ...o, procedure: 'nope' })),
        afterReturn: await (async () => {
          await it.return()
          return within(it.routerClient.ping())
        })(),
      }
    }, [t.options(uniqueTag('aborts'))])
    assert.equal(outcome.preAbortedConnect.code, 'ABORTED', JSON.stringify(outcome))
    assert.equal(outcome.preAbortedConnect.isDurableIteratorError, true)
    assert.equal(outcome.preAbortedCall.code, 'ABORTED', JSON.stringify(outcome))
    assert.deepEqual(outcome.stillWorks, { value: 'pong' })
    // The app server answers a plain-text 404 (no oRPC error body), as upstream's fetch
    // handler fallback does: the error keeps the HTTP status.
    assert.equal(outcome.unknownProcedure.isDurableIteratorError, true, JSON.stringify(outcome))
    assert.equal(outcome.unknownProcedure.code, 'HTTP_ERROR')
    assert.equal(outcome.unknownProcedure.status, 404)
    assert.equal(outcome.afterReturn.code, 'ITERATOR_ENDED', JSON.stringify(outcome))
  })

  test('connect() to a procedure that is no durable iterator returns its output', async () => {
    const page = await t.openPage()
    const tag = uniqueTag('plain')
    await t.openRun('a', t.options(tag))
    await t.consume('a')
    const output = await page.evaluate(async ([o]) => {
      const result = await window.harness.pkg.connect(o)
      return { type: typeof result }
    }, [{ rpcUrl: t.server.rpcUrl, procedure: 'sendMessage', url: t.server.objectUrl, input: { message: 'plain call', tags: [tag] } }])
    assert.deepEqual(output, { type: 'undefined' })
    const got = await t.waitEvents('a', 1)
    assert.equal(got.events[0].message, 'plain call')
    await screenshot(page, 'api-page')
  })
})

describe('JS API in the browser: the retry plugin\'s options of a call', () => {
  const t = useApiPage()

  test('retryDelay as a function, shouldRetry and onRetry see each failed attempt, as oRPC\'s ClientRetryPlugin', async () => {
    const page = await t.openPage()
    await t.openRun('a', t.options(uniqueTag('retry-hooks')))
    const seen = await page.evaluate(async () => {
      const { it } = window.harness.get('a')
      const log = []
      const started = performance.now()
      const context = {
        retry: () => 2,
        retryDelay: ({ attemptIndex }) => 100 * (attemptIndex + 1),
        shouldRetry: ({ attemptIndex, error }) => {
          log.push(`should ${attemptIndex} ${error.code}`)
          return true
        },
        onRetry: ({ attemptIndex, path }) => {
          log.push(`retry ${attemptIndex} ${path.join('.')}`)
          return ok => log.push(`settled ${attemptIndex} ${ok}`)
        },
      }
      const failed = await it.routerClient.nope(undefined, { context }).then(() => 'resolved', error => error.code)
      const took = performance.now() - started
      const refused = []
      const stopped = await it.routerClient.nope(undefined, {
        context: { retry: 5, shouldRetry: ({ attemptIndex }) => (refused.push(attemptIndex), false) },
      }).then(() => 'resolved', error => error.code)
      const calls = []
      const pong = await it.routerClient.ping(undefined, {
        context: { retry: 3, onRetry: () => calls.push('retry') },
      })
      return { log, failed, took, refused, stopped, pong, calls }
    })
    const code = UNKNOWN_NESTED_PATH.code
    assert.deepEqual(seen.log, [
      `should 0 ${code}`,
      'retry 0 routerClient.nope',
      'settled 0 false',
      `should 1 ${code}`,
      'retry 1 routerClient.nope',
      'settled 1 false',
    ])
    assert.equal(seen.failed, code)
    assert.ok(seen.took >= 300, `waited 100 + 200 ms between attempts, took ${seen.took} ms`)
    assert.deepEqual(seen.refused, [0], 'shouldRetry false ends at the first failure')
    assert.equal(seen.stopped, code)
    assert.equal(seen.pong, 'pong')
    assert.deepEqual(seen.calls, [], 'no retry after a success')
  })
})
