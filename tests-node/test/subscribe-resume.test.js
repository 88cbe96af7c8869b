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
  recordFrames,
  takeEvents,
  withTimeout,
} from '../lib/clients.js'
import { startServer } from '../../test-support/server.js'

let server
const sockets = []

before(async () => {
  server = await startServer()
})

after(async () => {
  await Promise.all(sockets.map(closeSocket))
  await server?.stop()
})

/** Payload size asked of `/test/publish`; its events are `{seq, pad}` of exactly this JSON size. */
const SIZE = 40

/** The events of one `/test/publish` burst: consecutive ids, and seq 1..N with the right size. */
function assertBurst(events, receipt) {
  assert.deepEqual(events.map(e => e.id), idRange(receipt.firstId, receipt.lastId))
  events.forEach((event, index) => {
    assert.equal(event.value.seq, index + 1, `event ${event.id} carries its place in the burst`)
    assert.match(event.value.pad, /^x*$/)
    assert.equal(JSON.stringify(event.value).length, SIZE)
  })
}

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

  const batch1 = await server.publish({ count: 4, size: SIZE })
  assert.equal(batch1.published, 4)
  const received1 = await takeEvents(live, 4)
  assertBurst(received1, batch1)

  // 2. Abrupt drop: the open stream fails on the client. The rejection is awaited only after
  //    the drop call returns, so its handler is attached first (no unhandled rejection).
  const streamFails = assert.rejects(withTimeout(live.next(), 5_000, 'stream failure after drop'))
  const { dropped } = await server.drop()
  assert.equal(dropped, 1)
  await streamFails

  // 3. Events published while nobody is connected; enough to cross id 10, where a text-order
  //    replay ("10" < "5") would show up as a wrong order.
  const batch2 = await server.publish({ count: 9, size: SIZE })
  assert.equal(batch2.published, 9)
  assert.equal(Number(batch2.firstId), Number(batch1.lastId) + 1, 'ids continue across the drop')

  // 4. Reconnect with the same client id and resume from the last id seen.
  const lastSeen = received1.at(-1).id
  const second = await connect(id, token)
  const resumed = await second.client.subscribe(undefined, { lastEventId: lastSeen })
  const replayed = await takeEvents(resumed, 9)
  assertBurst(replayed, batch2)

  const afterDrop = await server.waitSubscribed(id)
  assert.notEqual(afterDrop.conn, beforeDrop.conn, 'a new connection serial after the reconnect')

  // 5. Live again, and the next event is exactly the next id: no duplicate of a replayed one.
  const batch3 = await server.publish({ count: 2, size: SIZE })
  const received3 = await takeEvents(resumed, 2)
  assertBurst(received3, batch3)
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

test('frames match upstream; return() aborts the stream and the server stops sending', { timeout: 10_000 }, async () => {
  const { client: app } = createAppClient(server)
  const token = await app.onMessage()
  const id = randomUUID()
  const socket = await openSocket(server, { id, token })
  sockets.push(socket)
  const { websocket, sent, received } = recordFrames(socket)
  const client = createObjectClient(websocket)

  const events = await client.subscribe()
  await server.waitSubscribed(id)
  const burst = await server.publish({ count: 1, size: SIZE })
  const [event] = await takeEvents(events, 1)
  assert.deepEqual(sent.map(frame => JSON.parse(frame)), [{ i: '1', p: { u: '/subscribe', b: {} } }])
  assert.deepEqual(received.map(frame => JSON.parse(frame)), [
    { i: '1', p: { h: { 'content-type': 'text/event-stream' } } },
    { i: '1', t: 3, p: { e: 'message', d: { json: event.value }, m: { id: String(burst.firstId) } } },
  ])

  // return() sends an abort for the stream's id...
  await events.return()
  assert.deepEqual(JSON.parse(sent.at(-1)), { i: '1', t: 4 })
  // ...after which a published event no longer reaches this socket: the ping's answer is the
  // next frame on it (upstream's object would keep sending events for the aborted id).
  await server.publish({ count: 1, size: SIZE })
  const before = received.length
  assert.equal(await client.call({ path: ['routerClient', 'ping'], input: null }), 'pong')
  assert.deepEqual(received.slice(before).map(frame => JSON.parse(frame)), [{ i: '2', p: { b: { json: 'pong' } } }])
  assert.equal((await server.sockets()).find(s => s.id === id).subscribed, false, 'no longer subscribed')
})
