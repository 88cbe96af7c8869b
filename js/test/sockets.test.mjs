// sockets.js against a fake `Worker` and `WebSocket`: the socket worker's command and batch
// protocol (src/socket_worker.js), routing of reports, acknowledgements, and the fallback to
// page sockets when the worker fails.
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { pathToFileURL } from 'node:url'

const dir = mkdtempSync(join(tmpdir(), 'durable-iterator-js-sockets-'))
cpSync(new URL('..', import.meta.url), dir, { recursive: true, filter: source => !source.includes('/test') })
writeFileSync(join(dir, 'socket-worker-program.js'), 'export default "// the program"\n')
after(() => rmSync(dir, { recursive: true, force: true }))

const workers = []
globalThis.Worker = class FakeWorker {
  constructor(url, options) {
    this.url = url
    this.options = options
    this.posted = []
    this.terminated = false
    workers.push(this)
  }

  postMessage(message) {
    this.posted.push(message)
  }

  terminate() {
    this.terminated = true
  }
}
const pageSockets = []
globalThis.WebSocket = class FakeWebSocket {
  constructor(url) {
    this.url = url
    pageSockets.push(this)
  }
}
after(() => {
  delete globalThis.Worker
  delete globalThis.WebSocket
})
const { openSocket } = await import(pathToFileURL(join(dir, 'sockets.js')))

function sink(name, log) {
  return {
    opened: () => log.push([name, 'opened']),
    messages: frames => log.push([name, 'messages', frames]),
    closed: (code, reason) => log.push([name, 'closed', code, reason]),
  }
}

test('sockets share one worker; a batch reaches each socket in order, then is acknowledged', () => {
  const log = []
  const a = openSocket('ws://h/a', {}, sink('a', log))
  const b = openSocket('ws://h/b', { offMainThread: true }, sink('b', log))
  assert.equal(workers.length, 1)
  const [worker] = workers
  assert.equal(worker.options.type, 'module')
  assert.ok(worker.url.startsWith('blob:'))
  const [[, idA], [, idB]] = worker.posted
  assert.deepEqual(worker.posted, [[1, idA, 'ws://h/a'], [1, idB, 'ws://h/b']])

  const bytes = new ArrayBuffer(2)
  worker.onmessage({ data: [[idA, 0], [idA, 1, 'x'], [idA, 1, bytes], [idB, 1, 'y'], [idA, 1, 'z'], [idB, 2, 1006, 'gone'], [idB, 1, 'late']] })
  assert.deepEqual(log, [
    ['a', 'opened'],
    ['a', 'messages', ['x', bytes]],
    ['b', 'messages', ['y']],
    ['a', 'messages', ['z']],
    ['b', 'closed', 1006, 'gone'],
  ])
  assert.deepEqual(worker.posted.at(-1), [0])

  a.send('hello')
  a.close(1006, 'not sendable')
  a.close(1000, 'twice')
  a.send('after close')
  assert.deepEqual(worker.posted.slice(-2), [[2, idA, 'hello'], [3, idA, 1000, 'not sendable']])
  // Closed sockets hear nothing more; the batch is still acknowledged.
  log.length = 0
  worker.onmessage({ data: [[idA, 1, 'ignored'], [idA, 2, 1000, '']] })
  assert.deepEqual(log, [])
  assert.deepEqual(worker.posted.at(-1), [0])
  b.close(1000, '')
})

test('WebSocket given or offMainThread false: a page socket', () => {
  const log = []
  class Custom extends globalThis.WebSocket {}
  const custom = openSocket('ws://h/c', { WebSocket: Custom }, sink('c', log))
  const page = openSocket('ws://h/p', { offMainThread: false }, sink('p', log))
  assert.equal(workers.length, 1)
  const [c, p] = pageSockets.slice(-2)
  assert.ok(c instanceof Custom)
  assert.equal(p.url, 'ws://h/p')
  assert.equal(p.binaryType, 'arraybuffer')
  p.onopen()
  p.onmessage({ data: 'm' })
  p.onclose({ code: 1001, reason: 'away' })
  assert.deepEqual(log, [['p', 'opened'], ['p', 'messages', ['m']], ['p', 'closed', 1001, 'away']])
  p.close = (code, reason) => log.push(['p', 'close', code, reason])
  page.close(4000, 'unresponsive')
  assert.deepEqual(log.at(-1), ['p', 'close', 4000, 'unresponsive'])
  assert.equal(p.onmessage, null)
  c.close = () => {}
  custom.close(1000, '')
})

test('a worker that fails is abandoned: its sockets close with 1006, later sockets open on the page', () => {
  const log = []
  openSocket('ws://h/d', {}, sink('d', log))
  const worker = workers.at(-1)
  const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true } }
  worker.onerror(event)
  assert.ok(event.defaultPrevented)
  assert.ok(worker.terminated)
  assert.deepEqual(log, [['d', 'closed', 1006, 'the socket worker failed']])
  const before = pageSockets.length
  openSocket('ws://h/e', {}, sink('e', log))
  assert.equal(pageSockets.length, before + 1)
  assert.equal(pageSockets.at(-1).url, 'ws://h/e')
})
