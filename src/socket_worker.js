// The socket worker's program; src/socket_worker.rs explains the protocol. Kept short: it is
// embedded in the wasm module.
const sockets = new Map()
let reports = []
let transfers = []
let awaitingAck = false

function flush() {
  if (awaitingAck || reports.length === 0) return
  awaitingAck = true
  postMessage(reports, transfers)
  reports = []
  transfers = []
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
  socket.onmessage = ({ data }) => report([id, 1, data], typeof data === 'string' ? undefined : data)
  socket.onclose = ({ code, reason }) => {
    sockets.delete(id)
    report([id, 2, code, reason])
  }
}

onmessage = ({ data: [op, id, a, b] }) => {
  if (op === 0) {
    awaitingAck = false
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
