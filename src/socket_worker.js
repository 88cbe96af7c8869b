// The program of the socket worker (src/socket_worker.rs starts it from a blob URL). It owns
// the WebSockets of every iterator of the page and reports what happens to them in batches:
// `[[socket, kind, a, b], ...]` with kind 0 = open, 1 = message (a: string or ArrayBuffer),
// 2 = closed (a: code, b: reason). The page acknowledges each batch; until it has, new reports
// wait, so a page that keeps up gets every frame at once and a busy page gets one batch per
// task instead of one task per frame. Commands from the page: {op: 'open', id, url},
// {op: 'send', id, data}, {op: 'close', id, code, reason}, {op: 'ack'}.
const OPENED = 0
const MESSAGE = 1
const CLOSED = 2
const sockets = new Map()
let reports = []
let transfers = []
let awaitingAck = false

function flush() {
  if (awaitingAck || reports.length === 0) return
  awaitingAck = true
  const batch = reports
  const transfer = transfers
  reports = []
  transfers = []
  postMessage(batch, transfer)
}

function report(record, transfer) {
  reports.push(record)
  if (transfer !== undefined) transfers.push(transfer)
  flush()
}

function open(id, url) {
  let socket
  try {
    socket = new WebSocket(url)
  }
  catch (error) {
    // What the page's own `new WebSocket` would have thrown: a failed connection.
    report([id, CLOSED, 1006, String(error && error.message)])
    return
  }
  socket.binaryType = 'arraybuffer'
  sockets.set(id, socket)
  socket.onopen = () => report([id, OPENED])
  socket.onmessage = (event) => {
    const data = event.data
    report([id, MESSAGE, data], typeof data === 'string' ? undefined : data)
  }
  socket.onclose = (event) => {
    sockets.delete(id)
    report([id, CLOSED, event.code, event.reason])
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
  if (command.op === 'send') {
    try {
      socket.send(command.data)
    }
    catch {
      // A frame sent on a socket that is not open is dropped, as on the page (the client
      // resends what matters after the next open).
    }
  }
  else if (command.op === 'close') {
    try {
      socket.close(command.code, command.reason)
    }
    catch {
      socket.close()
    }
  }
}
