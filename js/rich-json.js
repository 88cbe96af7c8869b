// oRPC's rich JSON (`{json, meta}`): JSON plus a list of `[type, ...path]` entries naming the
// values that stand for types JSON lacks. Payloads are parsed here with the engine's
// JSON.parse rather than in wasm: it is the fastest parser the page has, and the wasm side only
// needs the envelope.

const BIGINT = 0
const DATE = 1
const NAN = 2
const UNDEFINED = 3
const URL_TYPE = 4
const REGEXP = 5
const SET = 6
const MAP = 7

/** `Object.hasOwn`, where a host lacks it. */
export const hasOwn = Object.hasOwn ?? ((object, key) => Object.prototype.hasOwnProperty.call(object, key))

/**
 * Serialises a JavaScript value into `{ json, meta }` exactly as oRPC's RPC serializer does:
 * nested items come before their containers, undefined object properties are left out,
 * undefined array items become null with a meta entry.
 * @param {unknown} value
 * @param {ReadonlyArray<{type: number, condition(v: unknown): boolean, serialize(v: any): unknown}>} [custom]
 * @returns {{ json: unknown, meta: Array<Array<string|number>> }}
 */
export function serialize(value, custom = []) {
  const meta = []
  const json = walk(value, [], meta, custom)
  return { json, meta }
}

function walk(data, path, meta, custom) {
  for (const serializer of custom) {
    if (serializer.condition(data)) {
      const json = walk(serializer.serialize(data), path, meta, custom)
      meta.push([serializer.type, ...path])
      return json
    }
  }
  switch (typeof data) {
    case 'bigint':
      meta.push([BIGINT, ...path])
      return data.toString()
    case 'number':
      if (Number.isNaN(data)) {
        meta.push([NAN, ...path])
        return null
      }
      return data
    case 'object':
      break
    default:
      return data
  }
  if (data === null) return null
  if (data instanceof Date) {
    meta.push([DATE, ...path])
    return Number.isNaN(data.getTime()) ? null : data.toISOString()
  }
  if (typeof URL !== 'undefined' && data instanceof URL) {
    meta.push([URL_TYPE, ...path])
    return data.toString()
  }
  if (data instanceof RegExp) {
    meta.push([REGEXP, ...path])
    return data.toString()
  }
  if (data instanceof Set) {
    const json = walk(Array.from(data), path, meta, custom)
    meta.push([SET, ...path])
    return json
  }
  if (data instanceof Map) {
    const json = walk(Array.from(data.entries()), path, meta, custom)
    meta.push([MAP, ...path])
    return json
  }
  if (Array.isArray(data)) {
    return data.map((item, i) => {
      if (item === undefined) {
        meta.push([UNDEFINED, ...path, i])
        return null
      }
      return walk(item, [...path, i], meta, custom)
    })
  }
  const proto = Object.getPrototypeOf(data)
  if (proto !== null && proto !== Object.prototype) {
    // Class instances other than the built-ins above travel as JSON.stringify would send them.
    return typeof data.toJSON === 'function' ? data.toJSON() : data
  }
  const json = {}
  for (const key in data) {
    const item = data[key]
    if (item === undefined) continue
    if (key === 'toJSON' && typeof item === 'function') continue
    json[key] = walk(item, [...path, key], meta, custom)
  }
  return json
}

/**
 * The request body text for `value` (`{}` for undefined, `meta` left out when empty).
 * @param {unknown} value
 * @param {ReadonlyArray<any>} [custom]
 * @returns {string}
 */
export function encodeBody(value, custom = []) {
  if (value === undefined) return '{}'
  const { json, meta } = serialize(value, custom)
  return JSON.stringify(meta.length === 0 ? { json } : { json, meta })
}

/**
 * Restores the JavaScript value of `json` per `meta`. A path that does not exist is an error,
 * never a silent write: a crafted path must not reach `__proto__` or a prototype.
 * @param {unknown} json
 * @param {ReadonlyArray<ReadonlyArray<string|number>>} [meta]
 * @param {ReadonlyArray<{type: number, deserialize(v: any): unknown}>} [custom]
 */
export function deserialize(json, meta = [], custom = []) {
  const ref = { data: json }
  for (const item of meta) {
    const type = item[0]
    let parent = ref
    let key = 'data'
    for (let i = 1; i < item.length; i++) {
      parent = parent[key]
      key = item[i]
      if (parent === null || typeof parent !== 'object' || !hasOwn(parent, key)) {
        throw new TypeError(`rich-JSON meta path does not exist: ${JSON.stringify(item.slice(1))}`)
      }
    }
    const value = parent[key]
    switch (type) {
      case BIGINT:
        parent[key] = BigInt(value)
        break
      case DATE:
        parent[key] = new Date(value ?? 'Invalid Date')
        break
      case NAN:
        parent[key] = Number.NaN
        break
      case UNDEFINED:
        parent[key] = undefined
        break
      case URL_TYPE:
        parent[key] = new URL(value)
        break
      case REGEXP: {
        const match = typeof value === 'string' ? /^\/(.*)\/([a-z]*)$/s.exec(value) : null
        if (!match) throw new TypeError(`rich-JSON RegExp is malformed: ${String(value)}`)
        parent[key] = new RegExp(match[1], match[2])
        break
      }
      case SET:
        parent[key] = new Set(value)
        break
      case MAP:
        parent[key] = new Map(value)
        break
      default: {
        const serializer = custom.find(s => s.type === type)
        if (serializer) parent[key] = serializer.deserialize(value)
      }
    }
  }
  return ref.data
}

/**
 * Parses a body text (`{json?, meta?}`) into its JavaScript value.
 * @param {string} text
 * @param {ReadonlyArray<any>} [custom]
 */
export function decodeBody(text, custom = []) {
  return fromBody(JSON.parse(text), custom)
}

/**
 * The JavaScript value of a parsed body (`{json?, meta?}`).
 * @param {unknown} body
 * @param {ReadonlyArray<any>} [custom]
 */
export function fromBody(body, custom = []) {
  if (body === null || typeof body !== 'object') {
    throw new TypeError('rich-JSON body is not an object')
  }
  const meta = body.meta
  if (meta === undefined || (Array.isArray(meta) && meta.length === 0)) return body.json
  if (!Array.isArray(meta)) throw new TypeError('rich-JSON meta is not a list')
  return deserialize(body.json, meta, custom)
}
