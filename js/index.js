// The JavaScript face of the wasm client: an async iterator that is also a Proxy carrying the
// RPC methods the token allows. Protocol decisions live in wasm; this file only adapts shapes.

import initWasm, { WasmIterator, callProcedure as wasmCallProcedure, parseToken as wasmParseToken } from './durable_iterator_wasm.js'
import { decodeBody, deserialize, encodeBody } from './rich-json.js'

export { decodeBody, encodeBody, deserialize, serialize } from './rich-json.js'

let loading

/**
 * Loads the wasm module once. Called by every entry point; call it yourself to load early
 * or from a custom location.
 * @param {string | URL | Request | Response | BufferSource | WebAssembly.Module} [source]
 */
export function initialize(source) {
  loading ??= load(source).catch((error) => {
    loading = undefined
    throw error
  })
  return loading
}

async function load(source) {
  if (source !== undefined) return initWasm({ module_or_path: source })
  const wasmUrl = new URL('./durable_iterator_wasm_bg.wasm', import.meta.url)
  if (wasmUrl.protocol === 'file:') {
    // Node cannot fetch file URLs: read the bytes instead. The specifier is a variable so
    // browser bundlers do not try to resolve (and warn about) a Node built-in.
    const fsModule = 'node:fs/promises'
    const { readFile } = await import(/* @vite-ignore */ fsModule)
    return initWasm({ module_or_path: await readFile(wasmUrl) })
  }
  if (import.meta.url.includes('/.vite/deps/')) {
    // Vite's dev server pre-bundles dependencies into node_modules/.vite/deps/ without
    // copying assets; the wasm file is still served from the package's own folder.
    const packaged = new URL(/* @vite-ignore */ '../../durable-iterator-wasm/durable_iterator_wasm_bg.wasm', import.meta.url)
    return initWasm({ module_or_path: packaged })
  }
  return initWasm({ module_or_path: wasmUrl })
}

/** The one error class of this package: `code` is stable, `cause` keeps the origin. */
export class DurableIteratorError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ status?: number, data?: unknown, defined?: boolean, cause?: unknown }} [details]
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'DurableIteratorError'
    this.code = code
    this.status = details.status
    this.data = details.data
    this.defined = details.defined ?? false
  }
}

function toError(raw) {
  if (raw instanceof Error) return raw
  if (raw !== null && typeof raw === 'object' && typeof raw.code === 'string') {
    return new DurableIteratorError(raw.code, raw.message ?? raw.code, raw)
  }
  return new DurableIteratorError('UNKNOWN', String(raw), { cause: raw })
}

/** @internal Lets the oRPC adapter turn errors into `ORPCError`s. */
export const MAP_ERROR = Symbol('durable-iterator-wasm:mapError')

const STATE_EVENTS = new Set(['connecting', 'open', 'reconnecting', 'offline', 'refreshing', 'closed'])

/**
 * A durable iterator: `for await` over its events; properties named in the token's `rpc`
 * list are callable (`it.method(input)`, `it.router.nested(input)`). Connection changes are
 * DOM events on it (`open`, `reconnecting`, `resumed`, `gap`, `closed`, ...) and `state`.
 */
class DurableIterator extends EventTarget {
  #core
  #custom
  #retryDelayMs
  #interceptors
  #mapError
  #batch = []
  #index = 0
  #done = false
  #tail = Promise.resolve()
  #waiting = 0
  #lastEventId

  constructor(custom, retryDelayMs, interceptors, mapError) {
    super()
    this.#custom = custom
    this.#retryDelayMs = retryDelayMs
    this.#interceptors = interceptors
    this.#mapError = mapError
  }

  /** @internal */
  attach(core) {
    this.#core = core
    this.#lastEventId = core.lastEventId
  }

  /** Connection state: connecting, open, reconnecting, offline, refreshing or closed. */
  get state() {
    return this.#core?.state ?? 'connecting'
  }

  /** Id of the last event this iterator yielded (what a later resume would start after). */
  get lastEventId() {
    return this.#lastEventId
  }

  /** The token in use (it changes when a refresh succeeds). */
  get token() {
    return this.#core.token
  }

  /** The payload of the token in use (`chn`, `tags`, `att`, `rpc`, `iat`, `exp`). */
  get tokenPayload() {
    return this.#core.tokenPayload
  }

  /** The id this iterator's socket presents to the object. */
  get clientId() {
    return this.#core.clientId
  }

  next() {
    if (this.#waiting === 0 && this.#index < this.#batch.length) {
      return Promise.resolve(this.#take())
    }
    this.#waiting++
    const result = this.#tail.then(() => this.#nextSlow())
    this.#tail = result.then(
      () => { this.#waiting-- },
      () => { this.#waiting-- },
    )
    return result
  }

  async #nextSlow() {
    if (this.#index < this.#batch.length) return this.#take()
    if (this.#done) return { done: true, value: undefined }
    let text
    try {
      text = await this.#core.nextBatch()
    }
    catch (error) {
      this.#done = true
      throw this.#mapError(toError(error))
    }
    if (text === null) {
      this.#done = true
      return { done: true, value: undefined }
    }
    this.#batch = JSON.parse(text)
    this.#index = 0
    return this.#take()
  }

  #take() {
    const [id, body] = this.#batch[this.#index]
    this.#batch[this.#index++] = undefined
    if (id !== null) this.#lastEventId = id
    const meta = body.meta
    const value = meta === undefined || meta.length === 0
      ? body.json
      : deserialize(body.json, meta, this.#custom)
    return { done: false, value }
  }

  /** Stops the iterator: closes the socket and every timer; a pending `next()` ends. */
  async return(value) {
    this.#stop()
    return { done: true, value }
  }

  async throw(error) {
    this.#stop()
    throw error
  }

  #stop() {
    this.#done = true
    this.#batch = []
    this.#index = 0
    this.#core?.stop()
  }

  [Symbol.asyncIterator]() {
    return this
  }

  /** @internal */
  call(path, input, options = {}) {
    const main = async ({ path, input, context, signal }) => {
      const retries = context?.retry ?? 0
      const delay = context?.retryDelay ?? this.#retryDelayMs
      const body = encodeBody(input, this.#custom)
      try {
        const text = await this.#core.call(path, body, retries, delay, signal ?? undefined)
        return decodeBody(text, this.#custom)
      }
      catch (error) {
        throw this.#mapError(toError(error))
      }
    }
    return intercept(this.#interceptors, { path, input, context: options.context ?? {}, signal: options.signal }, main)
  }

  /** @internal */
  allows(name) {
    return this.#core.allows(name)
  }

  /** @internal */
  notice(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }))
    if (STATE_EVENTS.has(type)) this.dispatchEvent(new CustomEvent('statechange', { detail }))
  }
}

if (typeof Symbol.asyncDispose === 'symbol') {
  DurableIterator.prototype[Symbol.asyncDispose] = function dispose() {
    return this.return()
  }
}

/**
 * Runs oRPC-style interceptors (`({ next, ...options }) => next()`) around `main`.
 * @param {ReadonlyArray<Function>} interceptors
 */
function intercept(interceptors, options, main) {
  const step = (index, current) => index < interceptors.length
    ? interceptors[index]({ ...current, next: (next = current) => step(index + 1, next) })
    : main(current)
  return step(0, options)
}

// Names that must keep their iterator meaning even if a token allowed them as methods:
// `then` would make the iterator look like a promise.
const RESERVED = new Set(['then', 'constructor'])

function rpcClient(iterator, path) {
  const invoke = (input, options) => iterator.call(path, input, options)
  return new Proxy(invoke, {
    get(target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined
      return rpcClient(iterator, [...path, property])
    },
  })
}

function withRpcProxy(iterator) {
  return new Proxy(iterator, {
    get(target, property) {
      if (typeof property === 'string' && !(property in target) && !RESERVED.has(property) && target.allows(property)) {
        return rpcClient(target, [property])
      }
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
    has(target, property) {
      return property in target || (typeof property === 'string' && !RESERVED.has(property) && target.allows(property))
    },
  })
}

/**
 * Starts a durable iterator from a token, or from a function that returns one (then the
 * iterator can refresh it before it expires).
 * @param {string | (() => string | Promise<string>)} token
 * @param {import('./index.d.ts').DurableIteratorOptions} options
 */
export async function fromToken(token, options) {
  await initialize()
  const signal = options.signal
  const getToken = typeof token === 'function' ? token : undefined
  const first = getToken ? await getToken() : token
  if (signal?.aborted) throw new DurableIteratorError('ABORTED', 'aborted', { cause: signal.reason })
  const iterator = new DurableIterator(
    options.customJsonSerializers ?? [],
    (options.rpcRetryDelayInSeconds ?? 2) * 1000,
    options.interceptors ?? [],
    options[MAP_ERROR] ?? (error => error),
  )
  let core
  try {
    core = WasmIterator.start(first, {
      ...options,
      refresh: getToken && (async () => getToken()),
      onNotice: (type, detail) => iterator.notice(type, detail),
    })
  }
  catch (error) {
    throw toError(error)
  }
  iterator.attach(core)
  if (signal) {
    const stop = () => iterator.return()
    signal.addEventListener('abort', stop, { once: true })
    // A long-lived signal must not keep ended iterators alive.
    iterator.addEventListener('closed', () => signal.removeEventListener('abort', stop), { once: true })
  }
  return withRpcProxy(iterator)
}

function procedurePath(procedure) {
  return Array.isArray(procedure) ? procedure.map(String) : String(procedure).split('.')
}

/**
 * Calls a procedure on an oRPC app server. When the output is a durable iterator token the
 * result is a live iterator (refreshing with the same procedure and input); otherwise the
 * output is returned unchanged.
 * @param {import('./index.d.ts').ConnectOptions} options
 */
export async function connect(options) {
  await initialize()
  const path = procedurePath(options.procedure)
  const body = encodeBody(options.input, options.customJsonSerializers ?? [])
  const call = async (lastEventId) => {
    try {
      return await wasmCallProcedure(options.rpcUrl, path, body, options.headers ?? {}, lastEventId, options.signal)
    }
    catch (error) {
      throw toError(error)
    }
  }
  const first = await call(options.lastEventId)
  if (first.token === undefined) return decodeBody(first.body, options.customJsonSerializers ?? [])
  let pendingFirst = first.token
  return fromToken(async () => {
    if (pendingFirst !== undefined) {
      const token = pendingFirst
      pendingFirst = undefined
      return token
    }
    const again = await call(undefined)
    if (again.token === undefined) {
      throw new DurableIteratorError('INVALID_TOKEN', `Expected valid token for procedure ${path.join('.')}`)
    }
    return again.token
  }, options)
}

/**
 * Reads a token's payload without verifying it.
 * @param {string} token
 */
export async function parseToken(token) {
  await initialize()
  try {
    return wasmParseToken(token)
  }
  catch (error) {
    throw toError(error)
  }
}
