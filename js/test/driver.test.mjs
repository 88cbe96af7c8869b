// The JS driver against a scripted stand-in for the wasm Core and a fake WebSocket: what it
// feeds the engine (numbers and text of each input) and what it does with the outputs.
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { pathToFileURL } from 'node:url'

// driver.js imports the socket worker's program, which the package build generates: load the
// modules from a copy that has a stand-in for it.
const dir = mkdtempSync(join(tmpdir(), 'durable-iterator-js-driver-'))
cpSync(new URL('..', import.meta.url), dir, { recursive: true, filter: source => !source.includes('/test') })
writeFileSync(join(dir, 'socket-worker-program.js'), 'export default ""\n')
after(() => rmSync(dir, { recursive: true, force: true }))
const { Driver } = await import(pathToFileURL(join(dir, 'driver.js')))
const { CODES } = await import(pathToFileURL(join(dir, 'errors.js')))

/** An error array as the engine writes it: the code's number, then the data. */
const failure = (code, ...data) => [CODES.indexOf(code), ...data]

const token = (claims = {}) => `${JSON.stringify({ chn: 'room', tags: ['t'], rpc: ['m'], iat: 100, exp: 200, ...claims })}.sig`

/** A Core whose answers come from `script(kind, nums, text)`; every input is recorded. */
function fakeCore(script) {
  const inputs = []
  class Core {
    input(kind, nums, text) {
      inputs.push({ kind, nums: [...nums], text })
      return JSON.stringify([...(script(kind, [...nums], text) ?? []), [14, -1]])
    }

    free() {
      inputs.push({ kind: 'free' })
    }
  }
  return { Core, inputs }
}

/** A WebSocket class whose instances are kept in `sockets` and record what they are told. */
function fakeSockets() {
  const sockets = []
  class FakeSocket {
    constructor(url) {
      this.url = url
      this.sent = []
      this.closed = undefined
      sockets.push(this)
    }

    send(text) {
      this.sent.push(text)
    }

    close(code, reason) {
      this.closed = [code, reason]
    }
  }
  return { FakeSocket, sockets }
}

function recorder() {
  const seen = { events: [], notices: [], ended: undefined }
  return {
    seen,
    sink: {
      event: (id, message) => seen.events.push([id, message]),
      notice: (type, detail) => seen.notices.push([type, detail]),
      end: (error) => { seen.ended = error ?? null },
    },
  }
}

test('INIT carries the options, ids and claims; outputs open a socket, send, yield and notify', () => {
  const { Core, inputs } = fakeCore((kind, nums) => {
    if (kind === 0) return [[4, 0, 0, 0, 0, ''], [0, 1, token()]]
    if (kind === 1) return [[4, 1, 0, 0, 0, ''], [1, 1, 'subscribe']]
    // A batch of one message (a page socket): an event, or a frame the driver found malformed.
    if (kind === 3) return nums[3] === 3 ? [[10, failure('MALFORMED_MESSAGE', 'not a peer message')]] : [[3, 0, '7']]
  })
  const { FakeSocket, sockets } = fakeSockets()
  const { seen, sink } = recorder()
  const driver = new Driver(Core, token(), {
    url: payload => `ws://h/${payload.chn}?a=1`,
    WebSocket: FakeSocket,
    clientId: 'client é',
    lastEventId: '5',
    reconnect: { initialDelayMs: 50, factor: 0.5, maxAttempts: 3 },
    liveness: false,
    dedupCapacity: -1,
  }, undefined, sink)
  const [init] = inputs
  assert.equal(init.kind, 0)
  const [, , , iat, exp, nTags, nRpc, hasLast, connect, stable, attempts, auth, idle, timeout, refresh, refreshDelay, dedup, maxFrame, initial, max, factor, ...lengths] = init.nums
  assert.deepEqual([iat, exp, nTags, nRpc, hasLast], [100, 200, 1, 1, 1])
  assert.deepEqual([connect, stable, attempts, auth, idle, timeout, refresh, refreshDelay, dedup], [NaN, NaN, 3, NaN, -1, NaN, -1, NaN, NaN])
  assert.deepEqual([maxFrame, initial, max, factor], [16 * 1024 * 1024, 50, NaN, 1])
  assert.deepEqual(lengths, ['client é'.length, token().length, 4, 1, 1, 1])
  assert.equal(init.text, `client é${token()}room5tm`)

  assert.equal(driver.state, 'connecting')
  assert.equal(sockets.length, 1)
  assert.equal(sockets[0].url, `ws://h/room?a=1&id=client+%C3%A9&token=${encodeURIComponent(token()).replace(/[!'()~]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`)
  sockets[0].onopen()
  assert.equal(driver.state, 'open')
  assert.deepEqual(sockets[0].sent, ['subscribe'])

  sockets[0].onmessage({ data: '{"i":"1","t":3,"p":{"e":"message","d":{"json":1},"m":{"id":"7"}}}' })
  const frames = inputs.at(-1)
  assert.deepEqual(frames.nums.slice(1), [1, 1, 1, 0, -1, 1, 1])
  assert.equal(frames.text, '17')
  // The handle named the message of the batch.
  assert.deepEqual(seen.events, [['7', { i: '1', t: 3, p: { e: 'message', d: { json: 1 }, m: { id: '7' } } }]])
  sockets[0].onmessage({ data: 'oops' })
  assert.deepEqual(inputs.at(-1).nums.slice(1), [1, 1, 3, 0, 0, 0])
  const [type, detail] = seen.notices.at(-1)
  assert.equal(type, 'ignored')
  assert.equal(detail.code, 'MALFORMED_MESSAGE')
  assert.match(detail.reason, /^malformed message: Unexpected token/)
})

test('state notices carry their details; refresh asks the token source and answers REFRESHED', async () => {
  const fresh = token({ iat: 150, exp: 300, tags: undefined, rpc: ['m', 'n'] })
  let refreshed
  const { Core, inputs } = fakeCore((kind, nums, text) => {
    if (kind === 0) return [[4, 2, 3, 150, 1006, 'gone'], [7], [4, 5, 0, 0, 1000, 'bye']]
    if (kind === 7) {
      refreshed = { nums, text }
      return [[9, fresh], [8, 'why', 2000]]
    }
  })
  const { seen, sink } = recorder()
  const driver = new Driver(Core, token(), { url: 'ws://h/', WebSocket: class {} }, async () => fresh, sink)
  assert.deepEqual(seen.notices.slice(0, 2), [
    ['reconnecting', { state: 'reconnecting', attempt: 3, delayMs: 150, code: 1006, reason: 'gone' }],
    ['closed', { state: 'closed', code: 1000, reason: 'bye' }],
  ])
  assert.equal(inputs[0].nums[14], NaN, 'refresh on (a token source), at the engine default')
  await new Promise(resolve => setTimeout(resolve, 10))
  assert.deepEqual(refreshed.nums.slice(1), [1, 150, 300, -1, 2, fresh.length, 4, 1, 1])
  assert.equal(refreshed.text, `${fresh}roommn`)
  assert.equal(driver.token, fresh)
  assert.equal(driver.allows('n'), true)
  assert.deepEqual(seen.notices.slice(2), [['token', {}], ['refreshfailed', { reason: 'why', retryInMs: 2000 }]])
})

test('a failed refresh reports its reason', async () => {
  const reasons = []
  const { Core } = fakeCore((kind, nums, text) => {
    if (kind === 0) return [[7]]
    if (kind === 7) reasons.push([nums[1], text])
  })
  const attempts = [async () => { throw new Error('down') }, async () => 'no dot', async () => 42]
  for (const getToken of attempts) new Driver(Core, token(), { url: 'ws://h/', WebSocket: class {} }, getToken, recorder().sink)
  await new Promise(resolve => setTimeout(resolve, 10))
  assert.deepEqual(reasons, [
    [0, 'down'],
    [0, 'invalid token: no `.` separates payload and signature'],
    [0, 'the refresh did not produce a token string'],
  ])
})

test('calls: started, answered by a message of the batch, rejected, refused, aborted', async () => {
  let next = 0
  const { Core, inputs } = fakeCore((kind, nums) => {
    if (kind === 0) return [[0, 1, token()]]
    if (kind === 8) return nums[3] === 1 ? [[15, ++next]] : [[16, failure('RPC_NOT_ALLOWED', 'x')]]
    if (kind === 3) return [[11, 1, 0], [12, 2, failure('REJECTED', 403, -1)]]
    if (kind === 9) return [[12, nums[1], failure('ABORTED')]]
  })
  const { FakeSocket, sockets } = fakeSockets()
  const driver = new Driver(Core, token(), { url: 'ws://h/', WebSocket: FakeSocket }, undefined, recorder().sink)
  const ok = driver.call(['m'], 'BODY', 2, undefined)
  assert.deepEqual(inputs.at(-1).nums.slice(1), [2, NaN, 1, 1, 4])
  assert.equal(inputs.at(-1).text, 'mBODY')
  const rejected = driver.call(['m'], 'B', 0, 10)
  await assert.rejects(driver.call(['x', 'y'], 'B', 0, 10), { code: 'RPC_NOT_ALLOWED', message: 'method "x" is not allowed by the token' })
  sockets[0].onmessage({ data: '{"i":"2","p":{"b":{"json":"pong"}}}' })
  assert.deepEqual(await ok, { json: 'pong' })
  await assert.rejects(rejected, { code: 'FORBIDDEN', status: 403, message: 'Forbidden' })

  const controller = new AbortController()
  const aborted = driver.call(['m'], 'B', 0, 0, controller.signal)
  controller.abort()
  await assert.rejects(aborted, { code: 'ABORTED' })
  assert.deepEqual(inputs.at(-1).nums.slice(1), [next])
  await assert.rejects(driver.call(['m'], 'B', 0, 0, AbortSignal.abort()), { code: 'ABORTED' })
})

test('ENDED releases the socket, timers, pending calls and the engine; later inputs go nowhere', async () => {
  const { Core, inputs } = fakeCore((kind) => {
    if (kind === 0) return [[0, 1, token()]]
    if (kind === 8) return [[15, 1]]
    if (kind === 10) return [[2, 1, 1000, ''], [4, 5, 0, 0, 1000, ''], [13, failure('TOKEN_EXPIRED', 200000, 201500)]]
  })
  const { FakeSocket, sockets } = fakeSockets()
  const { seen, sink } = recorder()
  const driver = new Driver(Core, token(), { url: 'ws://h/', WebSocket: FakeSocket }, undefined, sink)
  const pending = driver.call(['m'], 'B', 0, 0)
  driver.stop()
  assert.deepEqual(sockets[0].closed, [1000, ''])
  assert.equal(seen.ended.code, 'TOKEN_EXPIRED')
  assert.equal(seen.ended.message, 'token expired at 200 (now 201.5)')
  await assert.rejects(pending, { code: 'ITERATOR_ENDED' })
  assert.equal(inputs.at(-1).kind, 'free')
  const count = inputs.length
  driver.stop()
  sockets[0].onmessage?.({ data: '{}' })
  await assert.rejects(driver.call(['m'], 'B', 0, 0), { code: 'ITERATOR_ENDED' })
  assert.equal(inputs.length, count)
})

test('an invalid start throws; a URL or socket that fails to open is a failed open (1006)', () => {
  const { Core } = fakeCore(kind => kind === 0 ? [[13, failure('INVALID_TOKEN', 'iat and exp must be finite numbers')]] : undefined)
  assert.throws(() => new Driver(Core, token(), { url: 'ws://h/' }, undefined, recorder().sink), { code: 'INVALID_TOKEN', message: 'invalid token: iat and exp must be finite numbers' })
  assert.throws(() => new Driver(Core, 'bad', { url: 'ws://h/' }, undefined, recorder().sink), { code: 'INVALID_TOKEN' })
  assert.throws(() => new Driver(Core, token(), { url: 42 }, undefined, recorder().sink), { code: 'INVALID_OPTION' })

  const opens = fakeCore(kind => kind === 0 ? [[0, 1, token()]] : undefined)
  new Driver(opens.Core, token(), { url: () => { throw new Error('no URL') } }, undefined, recorder().sink)
  assert.deepEqual(opens.inputs.at(-1).nums.slice(1), [1, 1006, 6])
  assert.equal(opens.inputs.at(-1).text, 'no URL')
  class Refusing {
    constructor() {
      throw new SyntaxError('bad URL')
    }
  }
  new Driver(opens.Core, token(), { url: 'ws://h/', WebSocket: Refusing }, undefined, recorder().sink)
  assert.equal(opens.inputs.at(-1).text, 'bad URL')
})

test('the timer: armed for the engine\'s deadline, kept when it is earlier, fired as TIMEOUT', async () => {
  const deadlines = [performance.now() + 30, performance.now() + 5000, -1]
  const inputs = []
  class Core {
    input(kind) {
      inputs.push(kind)
      return JSON.stringify([...kind === 8 ? [[15, 1]] : [], [14, deadlines.shift() ?? -1]])
    }

    free() {}
  }
  const driver = new Driver(Core, token(), { url: 'ws://h/', WebSocket: class {} }, undefined, recorder().sink)
  driver.call(['m'], 'B', 0, 0).catch(() => {})
  await new Promise(resolve => setTimeout(resolve, 80))
  assert.deepEqual(inputs, [0, 8, 11])
})
