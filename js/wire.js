// The wire formats the JS driver handles itself (PROTOCOL.md): tokens, the object's upgrade
// URL, the envelope of each server frame (read once, with one JSON.parse, into the numbers
// and strings the engine takes), the /call body, and procedure calls over HTTP.

import { DurableIteratorError, describe, isObject, orpcError } from './errors.js'
import { hasOwn, serialize } from './rich-json.js'

const isStrings = value => Array.isArray(value) && value.every(item => typeof item === 'string')

const invalidToken = reason => new DurableIteratorError('INVALID_TOKEN', `invalid token: ${reason}`)

/** The claims a token payload may have, in oRPC's order: [key, check, required]. */
const PAYLOAD_FIELDS = [
  ['chn', value => typeof value === 'string', true],
  ['tags', isStrings],
  ['att', () => true],
  ['rpc', isStrings],
  ['iat', Number.isFinite, true],
  ['exp', Number.isFinite, true],
]

/**
 * Reads a token's payload (everything before the last `.`) without verifying it, with the
 * checks of the Rust `parse_token`: unknown claims are dropped, `tags: null` is refused.
 * @param {string} token
 */
export function parsePayload(token) {
  const dot = typeof token === 'string' ? token.lastIndexOf('.') : -1
  if (dot < 0) throw invalidToken(typeof token === 'string' ? 'no `.` separates payload and signature' : 'the token is not a string')
  let raw
  try {
    raw = JSON.parse(token.slice(0, dot))
  }
  catch (error) {
    throw invalidToken(`payload: ${error.message}`)
  }
  if (!isObject(raw)) throw invalidToken('payload: expected an object')
  const payload = {}
  for (const [key, valid, required] of PAYLOAD_FIELDS) {
    if (!hasOwn(raw, key)) {
      if (required) throw invalidToken(`payload: missing field \`${key}\``)
    }
    else if (valid(raw[key])) {
      payload[key] = raw[key]
    }
    else {
      throw invalidToken(`payload: invalid \`${key}\``)
    }
  }
  return payload
}

/**
 * The `application/x-www-form-urlencoded` serializer of the URL standard (`URLSearchParams`):
 * ASCII alphanumerics and `*-._` stay, space becomes `+`, every other UTF-8 byte `%XX`. That is
 * `encodeURIComponent` with `!'()~` encoded too and `+` for space.
 */
const formEncode = value => encodeURIComponent(value)
  .replace(/[!'()~]|%20/g, char => char === '%20' ? '+' : `%${char.charCodeAt(0).toString(16).toUpperCase()}`)

/**
 * The object's upgrade URL: `base` with `id` and `token` appended to its query, before any
 * fragment; the query already there is kept byte for byte (the object reads the last `id`
 * and `token`, so ours win).
 */
export function upgradeUrl(base, clientId, token) {
  const hash = base.indexOf('#')
  const head = hash < 0 ? base : base.slice(0, hash)
  const query = head.indexOf('?')
  const joiner = query < 0 ? '?' : query + 1 === head.length || head.endsWith('&') ? '' : '&'
  return `${head}${joiner}id=${formEncode(clientId)}&token=${formEncode(token)}${hash < 0 ? '' : base.slice(hash)}`
}

const EVENT_KINDS = ['message', 'error', 'done']
const isU64 = value => Number.isInteger(value) && value >= 0 && value < 2 ** 64
const decoder = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 length of a string that came from a text frame (well-formed UTF-16). */
function utf8Length(text) {
  let length = text.length
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0x80) length += unit >= 0x800 && (unit < 0xD800 || unit > 0xDFFF) ? 2 : 1
  }
  return length
}

/**
 * Reads one server frame (a string, or the bytes of a binary frame: JSON, then optionally
 * 0xFF and an attachment) for the engine's FRAMES input: appends its numbers to `nums` and
 * its strings to `texts`, and returns the parsed message, or undefined when the frame is not
 * a usable peer message (then `reasons` gets why, for a malformed one). A frame larger than
 * `limit` bytes is dropped unread. The checks are the Rust decoder's (`message.rs`): an object
 * envelope with a string `i`; `t` absent, null or 2 (a response), 3 (an event), 4 (an abort,
 * whose `p` is not read) or another integer (an unknown type); for responses and events a
 * `p` object whose known members have the right types; unknown members are ignored. Where
 * `JSON.parse` hides what serde sees, the two differ: a repeated key (serde refuses it, here
 * the last wins), an integer written as a float (`3.0`), and serde's array form of a struct
 * (refused here).
 */
export function readFrame(data, limit, nums, texts, reasons) {
  const malformed = (reason) => {
    nums.push(3, 0, 0, 0)
    reasons.push(reason)
  }
  const invalid = field => malformed(`missing or invalid \`${field}\``)
  let text = data
  if (typeof data === 'string') {
    const size = data.length * 3 > limit ? utf8Length(data) : 0
    if (size > limit) return void nums.push(3, 2, size, limit)
  }
  else {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data)
    if (bytes.length > limit) return void nums.push(3, 2, bytes.length, limit)
    const end = bytes.indexOf(0xFF)
    try {
      text = decoder.decode(end < 0 ? bytes : bytes.subarray(0, end))
    }
    catch (error) {
      return malformed(`binary frame JSON is not UTF-8: ${error.message}`)
    }
  }
  let message
  try {
    message = JSON.parse(text)
  }
  catch (error) {
    return malformed(error.message)
  }
  if (!isObject(message)) return malformed('not a JSON object')
  const { i: id, t: type, p: payload } = message
  if (typeof id !== 'string') return invalid('i')
  if (type != null && !isU64(type)) return invalid('t')
  if (type === 4) {
    nums.push(2, id.length)
    texts.push(id)
    return message
  }
  if (type != null && type !== 2 && type !== 3) return void nums.push(3, 1, type, 0)
  if (!isObject(payload)) return invalid('p')
  if (type === 3) {
    const kind = EVENT_KINDS.indexOf(payload.e)
    if (kind < 0) return invalid('p.e')
    const meta = payload.m
    let eventId
    let retry = -1
    if (meta != null) {
      if (!isObject(meta)) return invalid('p.m')
      if (meta.id != null) {
        if (typeof meta.id !== 'string') return invalid('p.m.id')
        eventId = meta.id
      }
      if (meta.retry != null) {
        if (!isU64(meta.retry)) return invalid('p.m.retry')
        retry = meta.retry
      }
      if (meta.comments != null && !isStrings(meta.comments)) return invalid('p.m.comments')
    }
    nums.push(1, kind, retry, id.length, eventId === undefined ? -1 : eventId.length)
    texts.push(id)
    if (eventId !== undefined) texts.push(eventId)
    return message
  }
  const status = payload.s ?? 200
  if (!Number.isInteger(status) || status < 0 || status > 65535) return invalid('p.s')
  const headers = payload.h
  let stream = 0
  if (headers != null) {
    if (!isObject(headers)) return invalid('p.h')
    for (const name in headers) {
      if (typeof headers[name] !== 'string' && !isStrings(headers[name])) return invalid('p.h')
    }
    const contentType = headers['content-type']
    const first = Array.isArray(contentType) ? contentType[0] : contentType
    stream = first?.startsWith('text/event-stream') ? 1 : 0
  }
  nums.push(0, status, stream, hasOwn(payload, 'b') ? 1 : 0, id.length)
  texts.push(id)
  return message
}

/**
 * The `/call` body: `{"json":{"path":[...],"input":...},"meta":[...]}` with the input's meta
 * paths moved under `input`. No input is `"input": null` with meta `[[3, "input"]]`
 * (undefined at `input`): the upstream object requires the key.
 */
export function callBody(path, input, custom) {
  const { json, meta } = input === undefined ? {} : serialize(input, custom)
  if (json === undefined) return JSON.stringify({ json: { path, input: null }, meta: [[3, 'input']] })
  const body = { json: { path, input: json } }
  if (meta.length > 0) body.meta = meta.map(([type, ...at]) => [type, 'input', ...at])
  return JSON.stringify(body)
}

const invalidOutput = (path, reason) => new DurableIteratorError('INVALID_TOKEN', `Expected valid token for procedure ${path.join('.')}: ${reason}`)

/**
 * What a procedure's HTTP response means: `{ token }` when it carries the durable iterator
 * marker, else `{ body }` (the parsed rich-JSON body); an error status throws the oRPC error
 * of the body, or `HTTP_ERROR`.
 */
export function interpret(status, marker, text, path) {
  let body
  let reason = 'expected an object'
  try {
    body = JSON.parse(text)
  }
  catch (error) {
    reason = error.message
  }
  if (status < 200 || status >= 300) {
    throw orpcError(body) ?? new DurableIteratorError('HTTP_ERROR', `HTTP ${status}: ${text.slice(0, 512)}`, { status })
  }
  if (!isObject(body) || (body.meta !== undefined && !Array.isArray(body.meta))) {
    throw new DurableIteratorError('MALFORMED_MESSAGE', `malformed message: rich-JSON body: ${reason}`)
  }
  if (marker !== '1') return { body }
  if (typeof body.json !== 'string') throw invalidOutput(path, 'the output is not a string')
  try {
    parsePayload(body.json)
  }
  catch (error) {
    throw invalidOutput(path, error.message)
  }
  return { token: body.json }
}

/**
 * Calls a procedure over oRPC's RPC-over-HTTP protocol: `POST {rpcUrl}/{path}` with the
 * rich-JSON `body` text; see {@link interpret} for the result.
 */
export async function callProcedure(rpcUrl, path, body, headers, lastEventId, signal) {
  const failed = error => signal?.aborted
    ? new DurableIteratorError('ABORTED', 'aborted', { cause: signal.reason })
    : new DurableIteratorError('NETWORK_ERROR', `network error: ${describe(error)}`, { cause: error })
  if (signal?.aborted) throw failed()
  let response
  let text
  try {
    const url = String(rpcUrl).replace(/\/+$/, '') + path.map(segment => `/${encodeURIComponent(segment)}`).join('')
    const sent = new Headers({ 'content-type': 'application/json' })
    for (const [name, value] of Object.entries(isObject(headers) ? headers : {})) {
      if (typeof value === 'string') sent.set(name, value)
    }
    if (typeof lastEventId === 'string') sent.set('last-event-id', lastEventId)
    response = await fetch(url, { method: 'POST', body, headers: sent, signal })
    text = await response.text()
  }
  catch (error) {
    throw failed(error)
  }
  return interpret(response.status, response.headers.get('x-orpc-durable-iterator'), text, path)
}
