// `/call` through the real @orpc/client websocket RPCLink: allowed methods and nested router
// procedures answer, the three forms of "no input" are all accepted, and a method outside the
// token's rpc list, an unknown socket path and bad input fail with the same codes and statuses
// as the upstream object (see shared/vectors/upstream/); an unknown nested path is NOT_FOUND.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { ORPCError } from '@orpc/client'
import {
  closeSocket,
  createAppClient,
  createObjectClient,
  openSocket,
  recordFrames,
  takeEvents,
} from '../lib/clients.js'
import { startServer } from '../../test-support/server.js'

let server
let token
const sockets = []

before(async () => {
  server = await startServer()
  token = await createAppClient(server).client.onMessage()
})

after(async () => {
  await Promise.all(sockets.map(closeSocket))
  await server?.stop()
})

async function connect(linkOptions = {}) {
  const id = randomUUID()
  const socket = await openSocket(server, { id, token })
  sockets.push(socket)
  const { websocket, sent, received } = recordFrames(socket)
  return { id, client: createObjectClient(websocket, linkOptions), sent, received }
}

/** The request body the client sent last, parsed. */
function lastRequestBody(sent) {
  return JSON.parse(sent.at(-1)).p.b
}

/** The response frame received for request id `i`, parsed. */
function responseFor(received, i) {
  return received.map(frame => JSON.parse(frame)).find(frame => frame.i === i && frame.t === undefined)
}

function orpcError(code, status, message) {
  return (error) => {
    assert.ok(error instanceof ORPCError, `expected an ORPCError, got ${error}`)
    assert.equal(error.code, code)
    assert.equal(error.status, status)
    if (message !== undefined) {
      assert.equal(error.message, message)
    }
    return true
  }
}

test('routerClient.ping answers "pong" for every form of no input', { timeout: 10_000 }, async () => {
  // "input": null with meta [[3, "input"]] (undefined at path input): what our wasm client
  // sends, produced here by the real serializer with a custom type-3 rule for undefined.
  const undefinedAsNull = {
    type: 3,
    condition: data => data === undefined,
    serialize: () => null,
    deserialize: () => undefined,
  }
  const typed = await connect({ customJsonSerializers: [undefinedAsNull] })
  assert.equal(await typed.client.call({ path: ['routerClient', 'ping'], input: undefined }), 'pong')
  assert.deepEqual(lastRequestBody(typed.sent), {
    json: { path: ['routerClient', 'ping'], input: null },
    meta: [[3, 'input']],
  })

  const plain = await connect()
  // No input key at all: what the upstream plugin's `iterator.routerClient.ping()` sends
  // (the upstream object refuses it with 400; ours accepts it).
  assert.equal(await plain.client.call({ path: ['routerClient', 'ping'] }), 'pong')
  assert.deepEqual(lastRequestBody(plain.sent), { json: { path: ['routerClient', 'ping'] } })

  // "input": null without meta: `ping(null)`.
  assert.equal(await plain.client.call({ path: ['routerClient', 'ping'], input: null }), 'pong')
  assert.deepEqual(lastRequestBody(plain.sent), { json: { path: ['routerClient', 'ping'], input: null } })
})

test('routerClient.echo answers and validates its input', { timeout: 10_000 }, async () => {
  const { client, sent, received } = await connect()
  assert.equal(await client.call({ path: ['routerClient', 'echo'], input: { text: 'Hello' } }), 'Echo: Hello')
  const ok = responseFor(received, JSON.parse(sent.at(-1)).i)
  assert.deepEqual(ok.p, { b: { json: 'Echo: Hello' } }, 'status 200 is left out, as upstream does')

  await assert.rejects(
    client.call({ path: ['routerClient', 'echo'], input: { text: 1 } }),
    orpcError('BAD_REQUEST', 400, 'Input validation failed'),
  )
})

test('singleClient publishes to every subscriber but the caller', { timeout: 15_000 }, async () => {
  const sender = await connect()
  const listener = await connect()
  const senderEvents = await sender.client.subscribe()
  const listenerEvents = await listener.client.subscribe()
  await server.waitSubscribed(sender.id)
  await server.waitSubscribed(listener.id)

  const message = `from ${sender.id}`
  const output = await sender.client.call({ path: ['singleClient'], input: { message } })
  assert.equal(output, undefined)

  const [heard] = await takeEvents(listenerEvents, 1)
  assert.deepEqual(heard.value, { message })
  assert.match(heard.id, /^\d+$/)

  // The sender's next event is the one published after, not its own message.
  const marker = await server.publish({ count: 1 })
  const [senderNext] = await takeEvents(senderEvents, 1)
  assert.equal(senderNext.id, String(marker.firstId))
  assert.ok(Number(senderNext.id) > Number(heard.id))
  const [listenerNext] = await takeEvents(listenerEvents, 1)
  assert.equal(listenerNext.id, String(marker.firstId))
})

test('a method outside the token rpc list is FORBIDDEN', { timeout: 10_000 }, async () => {
  const { client, sent, received } = await connect()
  for (const method of ['publish', 'publishEvent', 'constructor', '__proto__']) {
    await assert.rejects(
      client.call({ path: [method], input: { message: 'x' } }),
      orpcError('FORBIDDEN', 403, `Method "${method}" is not allowed.`),
    )
  }
  const frame = responseFor(received, JSON.parse(sent.at(-1)).i)
  assert.deepEqual(frame.p, {
    s: 403,
    b: { json: { defined: false, code: 'FORBIDDEN', status: 403, message: 'Method "__proto__" is not allowed.' } },
  })
})

test('an unknown nested path is NOT_FOUND (upstream answers 500)', { timeout: 10_000 }, async () => {
  // A documented difference of our server (server/src/lib.rs): upstream's object crashes on
  // a path that names no procedure and answers 500 INTERNAL_SERVER_ERROR; ours answers 404
  // NOT_FOUND. Either way the real client surfaces an ORPCError.
  const { client, sent, received } = await connect()
  await assert.rejects(
    client.call({ path: ['routerClient', 'nope'], input: null }),
    orpcError('NOT_FOUND', 404),
  )
  const frame = responseFor(received, JSON.parse(sent.at(-1)).i)
  assert.equal(frame.p.s, 404)
  assert.equal(frame.p.b.json.code, 'NOT_FOUND')
  assert.equal(frame.p.b.json.defined, false)
  // The socket is still usable afterwards.
  assert.equal(await client.call({ path: ['routerClient', 'ping'], input: null }), 'pong')
})

test('an unknown socket path gets 404 "No procedure matched"', { timeout: 10_000 }, async () => {
  const { client, sent, received } = await connect()
  await assert.rejects(client.nope(), orpcError('NOT_FOUND', 404))
  assert.deepEqual(JSON.parse(sent.at(-1)).p, { u: '/nope', b: {} })
  const frame = responseFor(received, JSON.parse(sent.at(-1)).i)
  assert.deepEqual(frame.p, { s: 404, b: 'No procedure matched' })
})
