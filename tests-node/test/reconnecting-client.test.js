// The upstream durable-iterator client plugin (@orpc/experimental-durable-iterator) is not on
// the npm registry this project can reach, so this file assembles the same published pieces
// that plugin is made of: the fetch RPCLink for the app procedures (marker header detection),
// partysocket's reconnecting WebSocket (over `ws`), the websocket RPCLink with
// ClientRetryPlugin, subscribe with unlimited retries resuming from the last event id, and
// `/call` for the RPC methods. It then checks end to end against our server: events from
// `sendMessage`, RPC calls, and an abrupt drop survived with every event exactly once.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { createORPCClient } from '@orpc/client'
import { ClientRetryPlugin } from '@orpc/client/plugins'
import { RPCLink as WebsocketRPCLink } from '@orpc/client/websocket'
import { WebSocket as ReconnectingWebSocket } from 'partysocket'
import WebSocket from 'ws'
import { createAppClient, idRange, parseToken, takeEvents, upgradeUrl } from '../lib/clients.js'
import { startServer } from '../../test-support/server.js'

let server
const opened = []

before(async () => {
  server = await startServer()
})

after(async () => {
  for (const socket of opened) {
    socket.close()
  }
  await server?.stop()
})

/** One durable connection: a reconnecting socket and the object's procedures over it. */
function connectDurable(token) {
  const id = randomUUID()
  let connects = 0
  const socket = new ReconnectingWebSocket(
    () => {
      connects++
      return upgradeUrl(server, { id, token })
    },
    undefined,
    { WebSocket, minReconnectionDelay: 100, maxReconnectionDelay: 500, connectionTimeout: 4_000 },
  )
  opened.push(socket)
  const object = createORPCClient(new WebsocketRPCLink({ websocket: socket, plugins: [new ClientRetryPlugin()] }))
  return { id, socket, object, connects: () => connects }
}

test('onMessage, sendMessage, RPC calls and a drop survived through a reconnecting client', { timeout: 20_000 }, async () => {
  const { client: app, responses } = createAppClient(server)
  const token = await app.onMessage()
  assert.equal(responses.at(-1).marker, '1')
  const payload = parseToken(token)
  assert.deepEqual(payload.rpc, ['singleClient', 'routerClient'])

  const durable = connectDurable(token)
  const events = await durable.object.subscribe(undefined, {
    context: { retry: Number.POSITIVE_INFINITY, retryDelay: 100 },
  })
  await server.waitSubscribed(durable.id)

  // Events published over HTTP through the app procedure.
  await app.sendMessage({ message: 'hello' })
  await app.sendMessage({ message: 'world' })
  const greeting = await takeEvents(events, 2)
  assert.deepEqual(greeting.map(e => e.value), [{ message: 'hello' }, { message: 'world' }])
  assert.equal(Number(greeting[1].id), Number(greeting[0].id) + 1)

  // RPC methods over the same socket.
  assert.equal(await durable.object.call({ path: ['routerClient', 'echo'], input: { text: 'Hi' } }), 'Echo: Hi')
  assert.equal(await durable.object.call({ path: ['routerClient', 'ping'] }), 'pong')

  // Drop; publish while the client is away; the retry plugin resubscribes with last-event-id.
  const { conn: connBefore } = await server.waitSubscribed(durable.id)
  assert.equal((await server.drop()).dropped, 1)
  const missed = await server.publish({ count: 11, size: 32 })
  assert.equal(Number(missed.firstId), Number(greeting[1].id) + 1)

  const recovered = await takeEvents(events, 11, { timeoutMs: 8_000 })
  assert.deepEqual(recovered.map(e => e.id), idRange(missed.firstId, missed.lastId))
  const { conn: connAfter } = await server.waitSubscribed(durable.id)
  assert.notEqual(connAfter, connBefore)
  assert.equal(durable.connects(), 2, 'one reconnect, same client id')

  // Live again, exactly the next id.
  await app.sendMessage({ message: 'after' })
  const [tail] = await takeEvents(events, 1)
  assert.deepEqual(tail.value, { message: 'after' })
  assert.equal(tail.id, String(Number(missed.lastId) + 1))

  // Stopping: return() ends the iterator; closing the socket removes it from the object.
  await events.return()
  durable.socket.close()
  await server.waitForSockets(sockets => !sockets.some(s => s.id === durable.id), { what: 'socket removal' })
})
