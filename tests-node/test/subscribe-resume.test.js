// Subscribe and resume with the real @orpc/client websocket RPCLink: live events arrive with
// integer ids, and after an abrupt drop a new socket (same client id) that subscribes with
// `lastEventId` gets exactly the missed events, in integer order, then live ones again.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import {
  closeSocket,
  createAppClient,
  createObjectClient,
  idRange,
  openSocket,
  takeEvents,
  withTimeout,
} from '../lib/clients.js'
import { startServer } from '../lib/server.js'

let server
const sockets = []

before(async () => {
  server = await startServer()
})

after(async () => {
  await Promise.all(sockets.map(closeSocket))
  await server?.stop()
})

async function connect(id, token) {
  const socket = await openSocket(server, { id, token })
  sockets.push(socket)
  return { socket, client: createObjectClient(socket) }
}

test('onMessage over HTTP returns a marked token for some-room', { timeout: 10_000 }, async () => {
  const { client, responses } = createAppClient(server)
  const token = await client.onMessage()
  assert.equal(typeof token, 'string')
  const payload = JSON.parse(token.slice(0, token.lastIndexOf('.')))
  assert.equal(payload.chn, 'some-room')
  assert.deepEqual(payload.rpc, ['singleClient', 'routerClient'])
  assert.ok(payload.exp > payload.iat, 'exp after iat')
  assert.deepEqual(responses, [{ path: ['onMessage'], status: 200, marker: '1' }])

  // sendMessage is an ordinary procedure: no marker.
  await client.sendMessage({ message: 'nobody listens' })
  assert.equal(responses[1].marker, undefined)
})

test('subscribe, receive, drop, resume with lastEventId: nothing lost or duplicated', { timeout: 20_000 }, async () => {
  const { client: app } = createAppClient(server)
  const token = await app.onMessage()
  const id = randomUUID()

  // 1. Live events on the first socket.
  const first = await connect(id, token)
  const live = await first.client.subscribe()
  const beforeDrop = await server.waitSubscribed(id)

  const batch1 = await server.publish({ count: 4, size: 24 })
  assert.equal(batch1.published, 4)
  const received1 = await takeEvents(live, 4)
  assert.deepEqual(received1.map(e => e.id), idRange(batch1.firstId, batch1.lastId))
  for (const event of received1) {
    assert.equal(typeof event.value, 'object', 'event payload is an object')
    assert.equal(typeof event.value.message, 'string', 'event payload has a message')
  }
  // Distinct payloads: the test can tell events apart by content, not only by id.
  assert.equal(new Set(received1.map(e => JSON.stringify(e.value))).size, 4)

  // 2. Abrupt drop: the open stream fails on the client. The rejection is awaited only after
  //    the drop call returns, so its handler is attached first (no unhandled rejection).
  const streamFails = assert.rejects(withTimeout(live.next(), 5_000, 'stream failure after drop'))
  const { dropped } = await server.drop()
  assert.equal(dropped, 1)
  await streamFails

  // 3. Events published while nobody is connected; enough to cross id 10, where a text-order
  //    replay ("10" < "5") would show up as a wrong order.
  const batch2 = await server.publish({ count: 9, size: 24 })
  assert.equal(batch2.published, 9)
  assert.equal(Number(batch2.firstId), Number(batch1.lastId) + 1, 'ids continue across the drop')

  // 4. Reconnect with the same client id and resume from the last id seen.
  const lastSeen = received1.at(-1).id
  const second = await connect(id, token)
  const resumed = await second.client.subscribe(undefined, { lastEventId: lastSeen })
  const replayed = await takeEvents(resumed, 9)
  assert.deepEqual(replayed.map(e => e.id), idRange(batch2.firstId, batch2.lastId))

  const afterDrop = await server.waitSubscribed(id)
  assert.notEqual(afterDrop.conn, beforeDrop.conn, 'a new connection serial after the reconnect')

  // 5. Live again, and the next event is exactly the next id: no duplicate of a replayed one.
  const batch3 = await server.publish({ count: 2, size: 24 })
  const received3 = await takeEvents(resumed, 2)
  assert.deepEqual(received3.map(e => e.id), idRange(batch3.firstId, batch3.lastId))
  assert.equal(Number(batch3.firstId), Number(batch2.lastId) + 1)

  const all = [...received1, ...replayed, ...received3].map(e => e.id)
  assert.equal(new Set(all).size, all.length, 'no id delivered twice')
})

test('subscribe without lastEventId gets only live events; resume from 0 replays everything retained', { timeout: 20_000 }, async () => {
  const { client: app } = createAppClient(server)
  const token = await app.onMessage()

  // A brand-new client sees nothing of the history above unless it asks for it.
  const freshId = randomUUID()
  const fresh = await connect(freshId, token)
  const live = await fresh.client.subscribe()
  await server.waitSubscribed(freshId)
  const batch = await server.publish({ count: 1 })
  const [event] = await takeEvents(live, 1)
  assert.equal(event.id, String(batch.firstId))

  // lastEventId "0": every stored event (ids start at 1), in integer order.
  const historian = await connect(randomUUID(), token)
  const history = await historian.client.subscribe(undefined, { lastEventId: '0' })
  const all = await takeEvents(history, Number(batch.lastId))
  assert.deepEqual(all.map(e => e.id), idRange(1, batch.lastId))
})
