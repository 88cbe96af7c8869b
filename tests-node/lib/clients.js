// Thin glue between the tests and the real @orpc/client v1 package: an HTTP client for the app
// procedures (`/rpc`), and a websocket RPCLink client for the object. Nothing here speaks the
// wire protocol itself; the point of this suite is that the upstream client does.

import { createHmac } from 'node:crypto'
import { createORPCClient, getEventMeta } from '@orpc/client'
import { RPCLink as FetchRPCLink } from '@orpc/client/fetch'
import { RPCLink as WebsocketRPCLink } from '@orpc/client/websocket'
import WebSocket from 'ws'

export const MARKER_HEADER = 'x-orpc-durable-iterator'

/** Rejects with a message naming `what` if `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * The app server's procedures through the real fetch RPCLink. `responses` records, per call,
 * the response status and the marker header, as the upstream plugin's client interceptor sees them.
 */
export function createAppClient(server) {
  const responses = []
  const link = new FetchRPCLink({
    url: server.rpcUrl,
    clientInterceptors: [
      async (options) => {
        const response = await options.next()
        responses.push({ path: options.path, status: response.status, marker: response.headers[MARKER_HEADER] })
        return response
      },
    ],
  })
  return { client: createORPCClient(link), responses }
}

/** Splits a token at its last dot and parses the payload, without verifying (client side). */
export function parseToken(token) {
  const dot = token.lastIndexOf('.')
  if (dot < 0) {
    throw new Error(`not a token: ${token}`)
  }
  return JSON.parse(token.slice(0, dot))
}

/** Signs a payload as the object expects (lets a test forge a token for another channel). */
export function signToken(payload, signingKey) {
  const json = JSON.stringify(payload)
  const signature = createHmac('sha256', signingKey).update(json).digest('base64url')
  return `${json}.${signature}`
}

/** The object's upgrade URL for one client, built like the upstream plugin builds it. */
export function upgradeUrl(server, { id, token }) {
  const url = new URL(server.objectUrl)
  url.searchParams.append('id', id)
  url.searchParams.append('token', token)
  return url.toString()
}

/** Opens a `ws` socket to the object and resolves once it is open. */
export function openSocket(server, { id, token }) {
  const socket = new WebSocket(upgradeUrl(server, { id, token }))
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused with HTTP ${response.statusCode}`)))
  }), 5_000, 'websocket open')
}

/**
 * Wraps a socket so every frame the real client sends (and every frame it receives) is
 * recorded; the RPCLink only needs these four members of a WebSocket.
 */
export function recordFrames(socket) {
  const sent = []
  const received = []
  socket.on('message', (data, isBinary) => {
    received.push(isBinary ? Buffer.from(data).toString('utf8') : data.toString())
  })
  const websocket = {
    addEventListener: (...args) => socket.addEventListener(...args),
    removeEventListener: (...args) => socket.removeEventListener(...args),
    send(message) {
      sent.push(typeof message === 'string' ? message : Buffer.from(message).toString('utf8'))
      socket.send(message)
    },
    get readyState() {
      return socket.readyState
    },
  }
  return { websocket, sent, received }
}

/** An oRPC client whose procedures are the object's socket procedures (`/subscribe`, ...). */
export function createObjectClient(websocket, linkOptions = {}) {
  return createORPCClient(new WebsocketRPCLink({ websocket, ...linkOptions }))
}

/** Closes a socket and waits for the close (or gives up quietly after a second). */
export async function closeSocket(socket) {
  if (socket.readyState === WebSocket.CLOSED) {
    return
  }
  const closed = new Promise(resolve => socket.once('close', resolve))
  socket.close(1000)
  const timer = setTimeout(() => socket.terminate(), 1_000)
  await closed
  clearTimeout(timer)
}

/** Reads `count` events from an event iterator, each with its meta id. */
export async function takeEvents(iterator, count, { timeoutMs = 5_000 } = {}) {
  const events = []
  while (events.length < count) {
    const result = await withTimeout(iterator.next(), timeoutMs, `event ${events.length + 1} of ${count}`)
    if (result.done) {
      throw new Error(`iterator ended after ${events.length} of ${count} events`)
    }
    events.push({ value: result.value, id: getEventMeta(result.value)?.id })
  }
  return events
}

/** `[first, first + 1, ..., last]` as decimal strings, the shape of resume ids. */
export function idRange(first, last) {
  const ids = []
  for (let id = Number(first); id <= Number(last); id++) {
    ids.push(String(id))
  }
  return ids
}
