// `/updateToken` through the real @orpc/client websocket RPCLink: a token with the same channel
// and tags replaces the socket's payload in place (same connection serial, new exp, stream
// still live); a token with other tags, another channel, or a bad signature is refused with
// UNAUTHORIZED and leaves the socket as it was.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { ORPCError } from '@orpc/client'
import {
  closeSocket,
  createAppClient,
  createObjectClient,
  openSocket,
  parseToken,
  recordFrames,
  signToken,
  takeEvents,
} from '../lib/clients.js'
import { startServer } from '../../test-support/server.js'

let server
let socket

before(async () => {
  server = await startServer()
})

after(async () => {
  if (socket) {
    await closeSocket(socket)
  }
  await server?.stop()
})

function unauthorized(message) {
  return (error) => {
    assert.ok(error instanceof ORPCError, `expected an ORPCError, got ${error}`)
    assert.equal(error.code, 'UNAUTHORIZED')
    assert.equal(error.status, 401)
    assert.equal(error.message, message)
    return true
  }
}

test('updateToken keeps the same socket and replaces exp; mismatches are refused', { timeout: 20_000 }, async () => {
  const { client: app } = createAppClient(server)
  const tags = ['t1', 't2']
  const token = await app.onMessage({ tags, ttlSeconds: 600 })
  const payload = parseToken(token)
  assert.deepEqual(payload.tags, tags)

  const id = randomUUID()
  socket = await openSocket(server, { id, token })
  const { websocket, sent, received } = recordFrames(socket)
  const client = createObjectClient(websocket)
  const events = await client.subscribe()
  const initial = await server.waitSubscribed(id)
  assert.equal(initial.exp, payload.exp)
  assert.deepEqual(initial.tags, tags)

  // Same channel and tags, longer TTL: accepted in place.
  const renewed = await app.onMessage({ tags, ttlSeconds: 1_200 })
  const renewedPayload = parseToken(renewed)
  assert.ok(renewedPayload.exp > payload.exp, 'the renewed token expires later')
  const output = await client.updateToken({ token: renewed })
  assert.equal(output, undefined)
  const request = JSON.parse(sent.at(-1))
  assert.deepEqual(request.p, { u: '/updateToken', b: { json: { token: renewed } } })
  // Upstream answers a successful update with an empty body and no status.
  assert.deepEqual(JSON.parse(received.at(-1)), { i: request.i, p: { b: {} } })

  const updated = (await server.sockets()).find(s => s.id === id)
  assert.equal(updated.conn, initial.conn, 'same connection serial: the socket stayed open')
  assert.equal(updated.exp, renewedPayload.exp, 'the socket now carries the new exp')
  assert.equal(updated.subscribed, true)

  // The stream opened before the update still delivers.
  const published = await server.publish({ count: 1, tags: ['t2'] })
  const [event] = await takeEvents(events, 1)
  assert.equal(event.id, String(published.firstId))

  // Other tags: refused.
  const otherTags = await app.onMessage({ tags: ['t1'], ttlSeconds: 1_800 })
  await assert.rejects(
    client.updateToken({ token: otherTags }),
    unauthorized('Updated token must have the exact same tags with the original token'),
  )

  // Same tags, reordered: tags compare as ordered lists, so this is refused too.
  const reordered = await app.onMessage({ tags: ['t2', 't1'], ttlSeconds: 1_800 })
  await assert.rejects(
    client.updateToken({ token: reordered }),
    unauthorized('Updated token must have the exact same tags with the original token'),
  )

  // Another channel, validly signed with the server's key: refused.
  const now = Math.floor(Date.now() / 1000)
  const otherChannel = signToken({ chn: 'other-room', tags, iat: now, exp: now + 3_600 }, server.signingKey)
  await assert.rejects(
    client.updateToken({ token: otherChannel }),
    unauthorized('Updated token must have the same channel with the original token'),
  )

  // Bad signature and plain garbage: refused as invalid.
  const forged = signToken({ ...renewedPayload, exp: now + 7_200 }, 'not-the-key')
  await assert.rejects(client.updateToken({ token: forged }), unauthorized('Invalid Token'))
  await assert.rejects(client.updateToken({ token: 'garbage' }), unauthorized('Invalid Token'))

  // None of the refusals touched the socket.
  const final = (await server.sockets()).find(s => s.id === id)
  assert.equal(final.conn, initial.conn)
  assert.equal(final.exp, renewedPayload.exp)
  const next = await server.publish({ count: 1 })
  const [later] = await takeEvents(events, 1)
  assert.equal(later.id, String(next.firstId))
})
