// The JS rich-JSON codec against the bodies the real oRPC packages produced.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { decodeBody, deserialize, encodeBody, serialize } from '../rich-json.js'

const vectorsPath = new URL('../../../shared/vectors/orpc-v1-vectors.json', import.meta.url)
const vectors = JSON.parse(readFileSync(process.env.DURABLE_ITERATOR_VECTORS ?? vectorsPath, 'utf8'))

test('every rpcJson vector decodes and re-encodes to the identical body', () => {
  assert.ok(vectors.rpcJson.length > 10)
  for (const entry of vectors.rpcJson) {
    const text = JSON.stringify(entry.body)
    const value = decodeBody(text)
    assert.equal(encodeBody(value), text, entry.name)
  }
})

test('values come back with their types', () => {
  const input = {
    big: 12345678901234567890n,
    when: new Date('2024-01-02T03:04:05.000Z'),
    bad: new Date(Number.NaN),
    nan: Number.NaN,
    list: [1, undefined, 3],
    url: new URL('https://example.com/a?b=c'),
    re: /ab+c/gi,
    set: new Set([1, new Date(0)]),
    map: new Map([['k', 1n], [2, 'v']]),
    gone: undefined,
  }
  const out = decodeBody(encodeBody(input))
  assert.equal(out.big, 12345678901234567890n)
  assert.equal(out.when.toISOString(), '2024-01-02T03:04:05.000Z')
  assert.ok(Number.isNaN(out.bad.getTime()))
  assert.ok(Number.isNaN(out.nan))
  assert.deepEqual(out.list, [1, undefined, 3])
  assert.equal(out.url.href, 'https://example.com/a?b=c')
  assert.equal(out.re.source, 'ab+c')
  assert.equal(out.re.flags, 'gi')
  assert.deepEqual([...out.set].map(String), ['1', new Date(0).toString()])
  assert.equal(out.map.get('k'), 1n)
  assert.equal(out.map.get(2), 'v')
  assert.ok(!('gone' in out))
})

test('the call vector input serialises with upstream meta order', () => {
  const { json, meta } = serialize({
    path: ['routerClient', 'echo'],
    input: { text: 'Hello', when: new Date('2024-01-02T03:04:05.000Z'), big: 12345678901234567890n, tags: new Set(['a', 'b']), nan: Number.NaN },
  })
  const frame = vectors.peerRequests.find(r => r.name === 'call nested rpc with rich input')
  assert.equal(JSON.stringify({ json, meta }), JSON.stringify(JSON.parse(frame.encoded).p.b))
})

test('a meta path that does not exist is an error, not a prototype write', () => {
  assert.throws(() => deserialize({ a: 1 }, [[0, 'b']]), /does not exist/)
  assert.throws(() => deserialize({}, [[1, '__proto__', 'x']]), /does not exist/)
  assert.throws(() => deserialize([1], [[3, 4]]), /does not exist/)
  assert.equal(({}).x, undefined)
})

test('undefined is an empty body', () => {
  assert.equal(encodeBody(undefined), '{}')
  assert.equal(decodeBody('{}'), undefined)
})
