// The socket worker's program, shared by the Rust API (src/socket_worker.rs, which embeds it)
// and the npm package (js/sockets.js, through a module the package build generates from this
// file); both explain the protocol. Kept short: it ships inside both.

// Frame data the page has not taken yet, at most: past it a socket is closed as the server
// closes a slow consumer, and the client resumes once the page has caught up.
const MAX_BACKLOG = 64 * 1024 * 1024
const sockets = new Map()
let reports = []
let transfers = []
let awaitingAck = false
let queuedBytes = 0
let postedBytes = 0

function flush() {
  if (awaitingAck || reports.length === 0) return
  awaitingAck = true
  postMessage(reports, transfers)
  reports = []
  transfers = []
  postedBytes = queuedBytes
  queuedBytes = 0
}

function report(record, transfer) {
  reports.push(record)
  if (transfer) transfers.push(transfer)
  flush()
}

function open(id, url) {
  let socket
  try {
    socket = new WebSocket(url)
  }
  catch (error) {
    report([id, 2, 1006, String(error && error.message)])
    return
  }
  socket.binaryType = 'arraybuffer'
  sockets.set(id, socket)
  socket.onopen = () => report([id, 0])
  socket.onmessage = ({ data }) => {
    queuedBytes += typeof data === 'string' ? data.length : data.byteLength
    report([id, 1, data], typeof data === 'string' ? undefined : data)
    if (queuedBytes + postedBytes > MAX_BACKLOG) overloaded(id, socket)
  }
  socket.onclose = ({ code, reason }) => {
    sockets.delete(id)
    report([id, 2, code, reason])
  }
}

function overloaded(id, socket) {
  sockets.delete(id)
  socket.onmessage = socket.onclose = null
  socket.close(4013, 'page backlog full')
  report([id, 2, 1013, 'the page fell too far behind the socket'])
}

onmessage = ({ data: [op, id, a, b] }) => {
  if (op === 0) {
    awaitingAck = false
    postedBytes = 0
    flush()
    return
  }
  if (op === 1) return open(id, a)
  const socket = sockets.get(id)
  if (!socket) return
  if (op === 2) {
    try {
      socket.send(a)
    }
    catch {}
  }
  else {
    try {
      socket.close(a, b)
    }
    catch {
      socket.close()
    }
  }
}
