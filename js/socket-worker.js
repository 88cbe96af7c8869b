// Sockets off the main thread: a `WebSocket`-compatible class whose connections live in one
// dedicated worker per page. A browser dispatches every WebSocket message as its own task on
// the thread that owns the socket; at thousands of small events per second that dispatch, not
// the client's work, is what limits a page. The worker receives the messages and forwards them
// in batches: one main-thread task per batch, however many frames it carries.
//
// The wasm client drives these objects exactly as it drives a `WebSocket` (it only uses
// `binaryType`, `send`, `close` and the `onopen`/`onmessage`/`onclose` handlers). Where no
// worker can start (no `Worker`, or a Content-Security-Policy without `worker-src blob:`), the
// constructor hands back a plain `WebSocket` instead.

/**
 * The worker's whole program, shipped as source through a blob URL, so the package needs no
 * separate worker file that bundlers would have to know about. It must not refer to anything
 * outside itself.
 */
function workerProgram() {
  const sockets = new Map()
  let queue = []
  let transfers = []
  let awaitingAck = false

  // Post as soon as the page has taken the previous batch: one frame at a time while the page
  // keeps up (no added latency), bigger batches while it is busy.
  function flush() {
    if (awaitingAck || queue.length === 0) return
    awaitingAck = true
    const batch = queue
    const transfer = transfers
    queue = []
    transfers = []
    postMessage(batch, transfer)
  }

  function report(record, transfer) {
    queue.push(record)
    if (transfer) transfers.push(transfer)
    flush()
  }

  function open(id, url) {
    let socket
    try {
      socket = new WebSocket(url)
    }
    catch (error) {
      // A malformed URL throws in the page too; report it as a failed connection.
      report([id, 'close', 1006, String(error && error.message)])
      return
    }
    socket.binaryType = 'arraybuffer'
    sockets.set(id, socket)
    socket.onopen = () => report([id, 'open'])
    socket.onmessage = (event) => {
      const data = event.data
      report([id, 'message', data], typeof data === 'string' ? undefined : data)
    }
    socket.onclose = (event) => {
      sockets.delete(id)
      report([id, 'close', event.code, event.reason])
    }
  }

  self.onmessage = ({ data: command }) => {
    if (command.op === 'ack') {
      awaitingAck = false
      flush()
      return
    }
    if (command.op === 'open') {
      open(command.id, command.url)
      return
    }
    const socket = sockets.get(command.id)
    if (socket === undefined) return
    try {
      if (command.op === 'send') socket.send(command.data)
      else if (command.op === 'close') socket.close(command.code, command.reason)
    }
    catch {
      // Sending on a socket that is not open drops the frame, as a page's `WebSocket` would
      // report by throwing; the client resends what matters after the next open.
    }
  }
}

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/** How long the worker outlives its last socket (a reconnect usually comes sooner). */
const IDLE_TERMINATE_MS = 30_000

/** The page's socket worker, its live sockets by id, and whether workers work here at all. */
const host = {
  worker: undefined,
  broken: false,
  sockets: new Map(),
  nextId: 1,
  idleTimer: undefined,
}

/** Whether this host can run sockets in a worker (browsers: yes; Node: no `Worker`). */
export function socketWorkerSupported() {
  return !host.broken && typeof Worker === 'function' && typeof Blob === 'function'
    && typeof URL !== 'undefined' && typeof URL.createObjectURL === 'function'
    && typeof WebSocket === 'function'
}

function startWorker() {
  const source = `(${workerProgram.toString()})()\n`
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
  let worker
  try {
    // A module worker, because some hosts (Deno) only have those; the program imports nothing.
    worker = new Worker(url, { type: 'module', name: 'durable-iterator-sockets' })
  }
  finally {
    URL.revokeObjectURL(url)
  }
  worker.onmessage = ({ data: batch }) => {
    try {
      for (const [id, kind, first, second] of batch) host.sockets.get(id)?.deliver(kind, first, second)
    }
    finally {
      worker.postMessage({ op: 'ack' })
    }
  }
  worker.onerror = (event) => {
    event.preventDefault?.()
    abandonWorker('the socket worker failed')
  }
  return worker
}

/**
 * Gives up on the worker: every socket it carried reports an abnormal close (so the client
 * reconnects), and later sockets are plain `WebSocket`s on the main thread.
 */
function abandonWorker(reason) {
  host.broken = true
  host.worker?.terminate()
  host.worker = undefined
  const sockets = [...host.sockets.values()]
  host.sockets.clear()
  for (const socket of sockets) socket.deliver('close', 1006, reason)
}

function workerForNewSocket() {
  clearTimeout(host.idleTimer)
  host.idleTimer = undefined
  host.worker ??= startWorker()
  return host.worker
}

function forget(id) {
  host.sockets.delete(id)
  if (host.sockets.size > 0 || host.worker === undefined) return
  clearTimeout(host.idleTimer)
  host.idleTimer = setTimeout(() => {
    if (host.sockets.size > 0) return
    host.worker?.terminate()
    host.worker = undefined
  }, IDLE_TERMINATE_MS)
}

/**
 * A `WebSocket` whose connection lives in the page's socket worker. Constructing one where
 * workers are unavailable or blocked returns a plain `WebSocket` to the same URL.
 */
export class WorkerWebSocket {
  #id
  #worker

  /** @param {string | URL} url */
  constructor(url) {
    if (!socketWorkerSupported()) return new WebSocket(url)
    try {
      this.#worker = workerForNewSocket()
    }
    catch {
      // Typically a Content-Security-Policy that does not allow blob: workers.
      host.broken = true
      return new WebSocket(url)
    }
    this.#id = host.nextId++
    this.url = String(url)
    this.readyState = CONNECTING
    this.binaryType = 'arraybuffer'
    this.onopen = null
    this.onmessage = null
    this.onclose = null
    this.onerror = null
    host.sockets.set(this.#id, this)
    this.#worker.postMessage({ op: 'open', id: this.#id, url: this.url })
  }

  /** Queues a frame; on a socket that is not open it is dropped. */
  send(data) {
    if (this.readyState !== OPEN) return
    this.#worker.postMessage({ op: 'send', id: this.#id, data })
  }

  /** Starts the closing handshake; `close` is reported when the worker's socket has closed. */
  close(code, reason) {
    if (this.readyState >= CLOSING) return
    this.readyState = CLOSING
    this.#worker.postMessage({ op: 'close', id: this.#id, code, reason })
  }

  /** @internal Called with what the worker reported for this socket. */
  deliver(kind, first, second) {
    if (this.readyState === CLOSED) return
    if (kind === 'message') {
      this.onmessage?.({ data: first })
    }
    else if (kind === 'open') {
      if (this.readyState === CONNECTING) this.readyState = OPEN
      this.onopen?.({})
    }
    else {
      this.readyState = CLOSED
      forget(this.#id)
      this.onclose?.({ code: first, reason: second ?? '', wasClean: first === 1000 })
    }
  }
}
