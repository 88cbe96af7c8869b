// The iterator's WebSocket, in the page's socket worker or on the page.
//
// A browser dispatches every WebSocket message as its own task on the thread that owns the
// socket; at thousands of small events per second that dispatch, not the client's work,
// limits the page. So by default every iterator of the page opens its socket in one shared
// dedicated worker (the program of src/socket_worker.js, started from a blob URL so no extra
// file has to be served), which forwards frames in batches: one page task per batch.
//
// Messages are arrays. Page to worker: `[0]` acknowledges a batch, `[1, id, url]` opens,
// `[2, id, data]` sends, `[3, id, code, reason]` closes. Worker to page: a batch
// `[[id, kind, a, b], ...]` with kind 0 = open, 1 = message (a: string or ArrayBuffer),
// 2 = closed (a: code, b: reason). Until the page has acknowledged a batch the worker collects
// the next one. Past 64 MiB of frames the page has not taken, the worker closes that socket
// and reports code 1013; the engine reconnects and resumes.
//
// Where no worker can start (no `Worker`, or a Content-Security-Policy without
// `worker-src blob:`) the socket opens on the page; a worker that fails later is abandoned:
// its sockets report an abnormal close (the engine reconnects, on the page).
//
// A socket reports to its sink: `opened()`, `messages(list)` (frames in order, several at
// once from a worker batch) and `closed(code, reason)`. `close()` detaches it: nothing it
// reports afterwards reaches the sink.

import PROGRAM from './socket-worker-program.js'

/** How long the worker outlives its last socket (a reconnect usually comes much sooner). */
const IDLE_TERMINATE_MS = 30_000

/** The page's socket worker: `{ worker, sockets: Map<id, sink>, idle }`. */
let host
/** Set once a worker could not start or failed: later sockets stay on the page. */
let broken = false
let nextId = 1

/** Only 1000 and 3000-4999 may be sent by scripts; anything else would throw. */
const sendableCode = code => code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000

/**
 * Opens a socket to `url`. `WebSocket` is a class for hosts without a global one (Node: the
 * `ws` package), used as is on this thread; without one, `offMainThread` (default true) asks
 * for the socket worker. Throws when the socket cannot even be created.
 */
export function openSocket(url, { WebSocket: Class, offMainThread }, sink) {
  if (typeof Class !== 'function' && offMainThread !== false && !broken && typeof Worker === 'function') {
    try {
      return workerSocket(url, sink)
    }
    catch {
      // No worker here: the page socket below.
    }
  }
  return pageSocket(url, typeof Class === 'function' ? Class : globalThis.WebSocket, sink)
}

function pageSocket(url, Class, sink) {
  const socket = new Class(url)
  socket.binaryType = 'arraybuffer'
  socket.onopen = () => sink.opened()
  socket.onmessage = ({ data }) => sink.messages([data])
  // A failed open fires `error` and then `close` (code 1006): `close` alone is enough.
  socket.onclose = ({ code, reason }) => sink.closed(code, reason)
  let closed = false
  return {
    send(text) {
      // A send that fails means the socket is going away; its close event tells the engine.
      try {
        socket.send(text)
      }
      catch {}
    },
    close(code, reason) {
      socket.onopen = socket.onmessage = socket.onclose = null
      if (closed) return
      closed = true
      try {
        socket.close(sendableCode(code), reason)
      }
      catch {}
    },
  }
}

function workerSocket(url, sink) {
  host ??= startWorker()
  clearTimeout(host.idle)
  host.idle = undefined
  const id = nextId++
  const { worker } = host
  host.sockets.set(id, sink)
  try {
    worker.postMessage([1, id, url])
  }
  catch (error) {
    forget(id)
    throw error
  }
  let closed = false
  return {
    send(text) {
      if (!closed) worker.postMessage([2, id, text])
    },
    close(code, reason) {
      if (closed) return
      closed = true
      forget(id)
      worker.postMessage([3, id, sendableCode(code), reason])
    },
  }
}

function startWorker() {
  let worker
  try {
    const url = URL.createObjectURL(new Blob([PROGRAM], { type: 'text/javascript' }))
    try {
      // A module worker, because some hosts (Deno) have only those; the program imports nothing.
      worker = new Worker(url, { type: 'module', name: 'durable-iterator-sockets' })
    }
    finally {
      URL.revokeObjectURL(url)
    }
  }
  catch (error) {
    broken = true
    throw error
  }
  const started = { worker, sockets: new Map(), idle: undefined }
  worker.onmessage = ({ data }) => onBatch(started, data)
  worker.onerror = (event) => {
    event.preventDefault()
    abandon(started, 'the socket worker failed')
  }
  return started
}

/**
 * Hands each report of a batch to its socket's sink (consecutive frames of one socket in one
 * call), then acknowledges the batch. A sink may open or close sockets meanwhile.
 */
function onBatch(started, batch) {
  let frames = []
  let framesOf
  const flush = () => {
    if (frames.length > 0) started.sockets.get(framesOf)?.messages(frames)
    frames = []
  }
  try {
    for (const [id, kind, a, b] of Array.isArray(batch) ? batch : []) {
      if (kind === 1) {
        if (id !== framesOf) flush()
        framesOf = id
        frames.push(a)
        continue
      }
      flush()
      framesOf = undefined
      const sink = started.sockets.get(id)
      if (kind === 0) {
        sink?.opened()
      }
      else if (kind === 2 && sink) {
        forget(id)
        sink.closed(a ?? 1006, b ?? '')
      }
    }
    flush()
  }
  finally {
    if (host === started) started.worker.postMessage([0])
  }
}

/** Stops routing reports to socket `id`; the last socket gone arms the idle timer. */
function forget(id) {
  const current = host
  if (!current) return
  current.sockets.delete(id)
  if (current.sockets.size > 0 || current.idle !== undefined) return
  current.idle = setTimeout(() => {
    if (host === current && current.sockets.size === 0) {
      host = undefined
      terminate(current)
    }
  }, IDLE_TERMINATE_MS)
}

function terminate({ worker, idle }) {
  clearTimeout(idle)
  worker.onmessage = worker.onerror = null
  worker.terminate()
}

/** Gives up on the worker: its sockets report an abnormal close; later sockets stay on the page. */
function abandon(started, reason) {
  broken = true
  if (host === started) host = undefined
  terminate(started)
  const sinks = [...started.sockets.values()]
  started.sockets.clear()
  for (const sink of sinks) sink.closed(1006, reason)
}
