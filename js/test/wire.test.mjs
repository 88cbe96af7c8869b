// The pure parts of the JS driver: upgrade URL, tokens, the envelope of server frames, the
// /call body, procedure responses and the wording of engine errors.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { DurableIteratorError, rejected, toError } from '../errors.js'
import { callBody, interpret, parsePayload, readFrame, upgradeUrl } from '../wire.js'

const vectorsPath = new URL('../../../shared/vectors/orpc-v1-vectors.json', import.meta.url)
const vectors = JSON.parse(readFileSync(process.env.DURABLE_ITERATOR_VECTORS ?? vectorsPath, 'utf8'))

test('the upgrade URL matches the recorded upstream one and protocol/src/client/url.rs', () => {
  const token = '{"chn":"some-room","att":{"userId":"u1"},"rpc":["singleClient","routerClient"],"iat":1795345028,"exp":1795348628}.fyCSnkiLyqkUnHl110Mvjlgob3qEUMfJGctFYbExA3o'
  assert.equal(
    upgradeUrl('ws://127.0.0.1:8800/chat-room', 'f4d271b1-6cc6-453e-b55f-b693fa3d1688', token),
    'ws://127.0.0.1:8800/chat-room?id=f4d271b1-6cc6-453e-b55f-b693fa3d1688&token=%7B%22chn%22%3A%22some-room%22%2C%22att%22%3A%7B%22userId%22%3A%22u1%22%7D%2C%22rpc%22%3A%5B%22singleClient%22%2C%22routerClient%22%5D%2C%22iat%22%3A1795345028%2C%22exp%22%3A1795348628%7D.fyCSnkiLyqkUnHl110Mvjlgob3qEUMfJGctFYbExA3o',
  )
  assert.equal(upgradeUrl('wss://h/p?a=b%20c', 'i', 't'), 'wss://h/p?a=b%20c&id=i&token=t')
  assert.equal(upgradeUrl('wss://h/p?', 'i', 't'), 'wss://h/p?id=i&token=t')
  assert.equal(upgradeUrl('wss://h/p?a=1&', 'i', 't'), 'wss://h/p?a=1&id=i&token=t')
  assert.equal(upgradeUrl('wss://h/p#f', 'i', 't'), 'wss://h/p?id=i&token=t#f')
  assert.equal(upgradeUrl('wss://h/p?q#f#g', 'i', 't'), 'wss://h/p?q&id=i&token=t#f#g')
  // Encoded as URLSearchParams encodes.
  assert.equal(upgradeUrl('ws://h/', 'a b+c/é~!\'()*-._', '\u{1F600}'), 'ws://h/?id=a+b%2Bc%2F%C3%A9%7E%21%27%28%29*-._&token=%F0%9F%98%80')
  const value = 'x y&z=é~\'!()*-._\u{1F600}\t'
  assert.equal(upgradeUrl('ws://h/', value, value), `ws://h/?${new URLSearchParams({ id: value, token: value })}`)
})

test('token payloads are read as the Rust parse_token reads them', () => {
  const token = payload => `${JSON.stringify(payload)}.sig`
  assert.deepEqual(parsePayload(token({ exp: 2, iat: 1, extra: 1, rpc: ['a'], att: null, chn: 'c' })), { chn: 'c', att: null, rpc: ['a'], iat: 1, exp: 2 })
  // The payload may contain dots: the signature follows the last one.
  assert.equal(parsePayload(`${JSON.stringify({ chn: 'a.b', iat: 1.5, exp: 2 })}.x.y`.replace('.x.y', '.sig')).chn, 'a.b')
  for (const bad of [
    'no separator',
    '{"iat":1,"exp":2}.s',
    '{"chn":1,"iat":1,"exp":2}.s',
    '{"chn":"a","tags":null,"iat":1,"exp":2}.s',
    '{"chn":"a","tags":[1],"iat":1,"exp":2}.s',
    '{"chn":"a","iat":"1","exp":2}.s',
    '{"chn":"a","iat":1}.s',
    '{"chn":"a","iat":1,"exp":1e999}.s',
    '[].s',
    '.s',
  ]) {
    assert.throws(() => parsePayload(bad), error => error instanceof DurableIteratorError && error.code === 'INVALID_TOKEN' && error.message.startsWith('invalid token: '), bad)
  }
  assert.throws(() => parsePayload('nodot'), { message: 'invalid token: no `.` separates payload and signature' })
})

/** readFrame's view of one frame: its numbers, its strings and whether it kept the message. */
function read(data, limit = 1 << 24) {
  const nums = []
  const texts = []
  const reasons = []
  const message = readFrame(data, limit, nums, texts, reasons)
  return { nums, text: texts.join(''), kept: message !== undefined, reasons }
}

test('the recorded server frames become the engine\'s envelopes', () => {
  const frames = Object.fromEntries(vectors.peerResponses.map(r => [r.name, r.encoded]))
  assert.deepEqual(read(frames['plain ok response']), { nums: [0, 200, 0, 1, 1], text: '1', kept: true, reasons: [] })
  assert.deepEqual(read(frames['event-iterator response head (subscribe accepted)']).nums, [0, 200, 1, 0, 1])
  assert.deepEqual(read(frames['error response FORBIDDEN']).nums, [0, 403, 0, 1, 1])
  assert.deepEqual(read(frames['server event message']), { nums: [1, 0, -1, 1, 2], text: '310', kept: true, reasons: [] })
  assert.deepEqual(read(frames['server event with retry meta']).nums, [1, 0, 5000, 1, 2])
  assert.deepEqual(read(frames['server error event']).nums, [1, 1, -1, 1, -1])
  assert.deepEqual(read(frames['server done event']).nums, [1, 2, -1, 1, -1])
  assert.deepEqual(read(frames['server abort signal']), { nums: [2, 1], text: '3', kept: true, reasons: [] })
  // Binary frames: the JSON, then optionally 0xFF and an attachment.
  const bytes = [...new TextEncoder().encode('{"i":"é","t":4}'), 0xFF, 1, 2]
  assert.deepEqual(read(new Uint8Array(bytes).buffer), { nums: [2, 1], text: 'é', kept: true, reasons: [] })
})

test('unusual but valid frames are read as the serde decoder reads them', () => {
  // Absent or null t is a response; null s is 200; null h none; a present null b is a body.
  assert.deepEqual(read('{"p":{"s":null,"h":null,"b":null},"t":null,"i":"x","z":[1]}').nums, [0, 200, 0, 1, 1])
  assert.deepEqual(read('{"i":"1","t":2,"p":{"s":404,"b":"No procedure matched"}}').nums, [0, 404, 0, 1, 1])
  // The content type is the first value of a list, and only a prefix counts.
  assert.deepEqual(read('{"i":"1","p":{"h":{"content-type":["text/event-stream; x","b"],"x":"y"}}}').nums, [0, 200, 1, 0, 1])
  assert.deepEqual(read('{"i":"1","p":{"h":{"Content-Type":"text/event-stream"}}}').nums, [0, 200, 0, 0, 1])
  // Null meta members are absent; comments are checked; unknown members ignored.
  assert.deepEqual(read('{"i":"1","t":3,"p":{"e":"message","m":{"id":null,"retry":null,"comments":["a"],"x":1}}}').nums, [1, 0, -1, 1, -1])
  // An abort's payload is never read.
  assert.deepEqual(read('{"i":"7","t":4,"p":"anything"}').nums, [2, 1])
  // Any other type number is an unknown type, whatever its payload.
  assert.deepEqual(read('{"i":"1","t":9,"p":1}'), { nums: [3, 1, 9, 0], text: '', kept: false, reasons: [] })
  assert.deepEqual(read('{"i":"1","t":1}').nums, [3, 1, 1, 0])
})

test('malformed frames are undecodable with a reason; frames over the limit are dropped unread', () => {
  for (const frame of [
    'not json',
    '[1]',
    '"text"',
    'null',
    '{"t":4}',
    '{"i":1,"t":4}',
    '{"i":"1","t":-1}',
    '{"i":"1","t":3.5}',
    '{"i":"1","t":"3"}',
    '{"i":"1"}',
    '{"i":"1","p":null}',
    '{"i":"1","p":[]}',
    '{"i":"1","p":{"s":"200"}}',
    '{"i":"1","p":{"s":70000}}',
    '{"i":"1","p":{"h":[]}}',
    '{"i":"1","p":{"h":{"a":1}}}',
    '{"i":"1","p":{"h":{"a":["b",2]}}}',
    '{"i":"1","t":3,"p":{}}',
    '{"i":"1","t":3,"p":{"e":"other"}}',
    '{"i":"1","t":3,"p":{"e":"toString"}}',
    '{"i":"1","t":3,"p":{"e":"message","m":[]}}',
    '{"i":"1","t":3,"p":{"e":"message","m":{"id":1}}}',
    '{"i":"1","t":3,"p":{"e":"message","m":{"retry":-5}}}',
    '{"i":"1","t":3,"p":{"e":"message","m":{"comments":"a"}}}',
    new Uint8Array([0x7B, 0xC3, 0x28, 0x7D]).buffer,
  ]) {
    const got = read(frame)
    assert.deepEqual(got.nums, [3, 0, 0, 0], String(frame))
    assert.equal(got.kept, false)
    assert.equal(got.reasons.length, 1)
  }
  assert.deepEqual(read('{"i":"1","t":4}', 14).nums, [3, 2, 15, 14])
  assert.deepEqual(read('{"i":"1","t":4}', 15).nums, [2, 1])
  // The size is in UTF-8 bytes: "é" is two.
  assert.deepEqual(read('{"i":"é","t":4}', 15).nums, [3, 2, 16, 15])
  assert.deepEqual(read('{"i":"\u{1F600}","t":4}', 17).nums, [3, 2, 18, 17])
  assert.deepEqual(read(new Uint8Array(20).buffer, 19).nums, [3, 2, 20, 19])
})

test('the /call body is the recorded one; no input is undefined at `input`', () => {
  const frame = vectors.peerRequests.find(r => r.name === 'call nested rpc with rich input')
  const input = { text: 'Hello', when: new Date('2024-01-02T03:04:05.000Z'), big: 12345678901234567890n, tags: new Set(['a', 'b']), nan: Number.NaN }
  assert.equal(callBody(['routerClient', 'echo'], input, []), JSON.stringify(JSON.parse(frame.encoded).p.b))
  assert.equal(callBody(['routerClient', 'ping'], undefined, []), '{"json":{"path":["routerClient","ping"],"input":null},"meta":[[3,"input"]]}')
  assert.equal(callBody(['m'], { a: 1 }, []), '{"json":{"path":["m"],"input":{"a":1}}}')
  assert.equal(callBody(['m'], null, []), '{"json":{"path":["m"],"input":null}}')
})

test('procedure responses become a token, a body or a typed error', () => {
  const token = `${JSON.stringify({ chn: 'room', iat: 1, exp: 2 })}.sig`
  const path = ['chat', 'onMessage']
  assert.deepEqual(interpret(200, '1', JSON.stringify({ json: token }), path), { token })
  assert.deepEqual(interpret(200, null, JSON.stringify({ json: token }), path), { body: { json: token } })
  assert.deepEqual(interpret(200, null, '{}', path), { body: {} })
  const fails = (status, marker, text) => {
    try {
      interpret(status, marker, text, path)
    }
    catch (error) {
      assert.ok(error instanceof DurableIteratorError)
      return { code: error.code, message: error.message, status: error.status, data: error.data, defined: error.defined }
    }
    assert.fail('no error')
  }
  assert.deepEqual(fails(200, '1', '{"json":"not a token"}'), {
    code: 'INVALID_TOKEN',
    message: 'Expected valid token for procedure chat.onMessage: invalid token: no `.` separates payload and signature',
    status: undefined,
    data: undefined,
    defined: false,
  })
  assert.equal(fails(200, '1', '{"json":1}').message, 'Expected valid token for procedure chat.onMessage: the output is not a string')
  assert.deepEqual(fails(403, null, '{"json":{"defined":true,"code":"NOPE","status":403,"message":"no","data":{"a":1}}}'), {
    code: 'NOPE', message: 'no', status: 403, data: { a: 1 }, defined: true,
  })
  assert.deepEqual(fails(404, null, 'Not Found'), { code: 'HTTP_ERROR', message: 'HTTP 404: Not Found', status: 404, data: undefined, defined: false })
  assert.equal(fails(502, null, 'x'.repeat(600)).message.length, 'HTTP 502: '.length + 512)
  assert.equal(fails(200, null, 'not json').code, 'MALFORMED_MESSAGE')
  assert.equal(fails(200, null, '"text"').code, 'MALFORMED_MESSAGE')
})

test('engine errors get the Rust wording; error answers become oRPC errors', () => {
  const text = error => `${toError(error).code}: ${toError(error).message}`
  assert.equal(text(['TOKEN_EXPIRED', 1795348628000, 1795348629500]), 'TOKEN_EXPIRED: token expired at 1795348628 (now 1795348629.5)')
  assert.equal(text(['CONNECTION_CLOSED', 1006, 'gone']), 'CONNECTION_CLOSED: connection closed (1006): gone')
  assert.equal(text(['RPC_NOT_ALLOWED', 'x"y']), 'RPC_NOT_ALLOWED: method "x\\"y" is not allowed by the token')
  assert.equal(text(['FRAME_TOO_LARGE', 20, 10]), 'FRAME_TOO_LARGE: frame of 20 bytes exceeds the limit of 10 bytes')
  assert.equal(text(['MALFORMED_MESSAGE', 'why']), 'MALFORMED_MESSAGE: malformed message: why')
  assert.equal(text(['UNKNOWN_MESSAGE_TYPE', 9]), 'UNKNOWN_MESSAGE_TYPE: unknown message type 9')
  assert.equal(text(['UNEXPECTED_RESPONSE', 'r']), 'UNEXPECTED_RESPONSE: unexpected response: r')
  assert.equal(text(['ABORTED']), 'ABORTED: aborted')
  assert.equal(text(['ITERATOR_ENDED']), 'ITERATOR_ENDED: the durable iterator has ended')
  assert.equal(text(['INVALID_CALL', 'r']), 'INVALID_CALL: invalid call: r')
  assert.equal(text(['INVALID_TOKEN', 'r']), 'INVALID_TOKEN: invalid token: r')
  assert.equal(text(['SOMETHING_NEW', 1]), 'SOMETHING_NEW: SOMETHING_NEW')

  const forbidden = JSON.parse(vectors.peerResponses.find(r => r.name === 'error response FORBIDDEN').encoded)
  const error = toError(['REJECTED', 403, forbidden])
  assert.deepEqual([error.code, error.status, error.message, error.defined], ['FORBIDDEN', 403, 'Method "x" is not allowed.', false])
  // Without an oRPC error body: the status's common code; a bare string body is the message.
  const notFound = rejected(404, 'No procedure matched')
  assert.deepEqual([notFound.code, notFound.status, notFound.message], ['NOT_FOUND', 404, 'No procedure matched'])
  const bare = toError(['REJECTED', 408, undefined])
  assert.deepEqual([bare.code, bare.status, bare.message], ['TIMEOUT', 408, 'Request Timeout'])
  const odd = rejected(599, { json: { code: 'X' } })
  assert.deepEqual([odd.code, odd.status, odd.message], ['INTERNAL_SERVER_ERROR', 599, 'Internal Server Error'])
  assert.equal(rejected(415).message, 'Unsupported Media Type')
  assert.equal(rejected(101).code, 'INTERNAL_SERVER_ERROR')
})
