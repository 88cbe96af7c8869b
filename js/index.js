// The JavaScript face of the client: an async iterator that is also a Proxy carrying the RPC
// methods the token allows. The decisions live in the wasm engine; everything with IO is JS:
//
//   index.js        the public API (this file): connect, fromToken, the iterator, RPC proxies
//   driver.js       one iterator's driver: feeds the engine, acts on its outputs
//   engine.js       loads the wasm engine and wraps it as `Core`
//   engine-codes.js the numbers of the driver-engine wire (js-engine/src/kinds.rs)
//   sockets.js      WebSockets in the page's socket worker, or on the page
//   wire.js         tokens, the upgrade URL, frame envelopes, the /call body, procedure calls
//   errors.js       DurableIteratorError and every message it shows
//   rich-json.js    oRPC's rich JSON
//
// The package build bundles them (with the socket worker's program, src/socket_worker.js,
// as the generated module socket-worker-program.js) into one index.js.

import { Driver, STATES } from './driver.js'
import { Core, loadEngine } from './engine.js'
import { DurableIteratorError } from './errors.js'
import { encodeBody, fromBody } from './rich-json.js'
import { callBody, callProcedure, parsePayload } from './wire.js'

export { DurableIteratorError } from './errors.js'
export { decodeBody, encodeBody, deserialize, serialize } from './rich-json.js'

let loading

/**
 * Loads the wasm engine once. `connect` and `fromToken` call it; call it yourself to load
 * early or from a custom location.
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
  if (source !== undefined) return loadEngine(source)
  const wasmUrl = new URL('./durable_iterator_wasm_bg.wasm', import.meta.url)
  if (wasmUrl.protocol === 'file:') {
    // Node cannot fetch file URLs: read the bytes instead. The specifier is a variable so
    // browser bundlers do not try to resolve (and warn about) a Node built-in.
    const fsModule = 'node:fs/promises'
    const { readFile } = await import(/* @vite-ignore */ fsModule)
    return loadEngine(await readFile(wasmUrl))
  }
  if (import.meta.url.includes('/.vite/deps/')) {
    // Vite's dev server pre-bundles dependencies into node_modules/.vite/deps/ without
    // copying assets; the wasm file is still served from the package's own folder. (Resolved
    // against `wasmUrl`, not `import.meta.url`, so that Vite's build leaves it alone: a
    // minifier drops `@vite-ignore` comments.)
    return loadEngine(new URL('../../durable-iterator-wasm/durable_iterator_wasm_bg.wasm', wasmUrl))
  }
  return loadEngine(wasmUrl)
}

/** @internal Lets the oRPC adapter turn errors into `ORPCError`s. */
export const MAP_ERROR = Symbol('durable-iterator-wasm:mapError')

const STATE_EVENTS = new Set(STATES)

/**
 * A durable iterator: `for await` over its events; properties named in the token's `rpc`
 * list are callable (`it.method(input)`, `it.router.nested(input)`). Connection changes are
 * DOM events on it (`open`, `reconnecting`, `resumed`, `gap`, `closed`, ...) and `state`.
 */
class DurableIterator extends EventTarget {
  #driver
  #custom
  #retryDelayMs
  #interceptors
  #mapError
  /** Events not yet taken: `[id, value]` pairs from `#head` on. */
  #events = []
  #head = 0
  /** Pending `next()` calls (only while no event waits). */
  #waiting = []
  /** Set once the stream ended: `{ error }` until that error has been thrown once. */
  #ended
  #lastEventId

  constructor(token, options, getToken) {
    super()
    this.#custom = options.customJsonSerializers ?? []
    // Undefined (NaN) is the engine's default delay.
    this.#retryDelayMs = options.rpcRetryDelayInSeconds * 1000
    this.#interceptors = options.interceptors ?? []
    this.#mapError = options[MAP_ERROR] ?? (error => error)
    this.#lastEventId = typeof options.lastEventId === 'string' ? options.lastEventId : undefined
    this.#driver = new Driver(Core, token, options, getToken, {
      event: (id, message) => this.#push(id, message),
      notice: (type, detail) => this.#notice(type, detail),
      end: error => this.#end(error && this.#mapError(error)),
    })
  }

  /** Connection state: connecting, open, reconnecting, offline, refreshing or closed. */
  get state() {
    return this.#driver?.state ?? 'connecting'
  }

  /** Id of the last event this iterator yielded (what a later resume would start after). */
  get lastEventId() {
    return this.#lastEventId
  }

  /** The token in use (it changes when a refresh succeeds). */
  get token() {
    return this.#driver.token
  }

  /** The payload of the token in use (`chn`, `tags`, `att`, `rpc`, `iat`, `exp`). */
  get tokenPayload() {
    return parsePayload(this.#driver.token)
  }

  /** The id this iterator's socket presents to the object. */
  get clientId() {
    return this.#driver.clientId
  }

  next() {
    if (this.#head < this.#events.length) return Promise.resolve(this.#take())
    if (this.#ended) {
      const { error } = this.#ended
      this.#ended = {}
      return error ? Promise.reject(error) : Promise.resolve({ done: true, value: undefined })
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }))
  }

  #take() {
    const [id, value] = this.#events[this.#head]
    this.#events[this.#head++] = undefined
    if (this.#head === this.#events.length) {
      this.#events = []
      this.#head = 0
    }
    if (id !== null) this.#lastEventId = id
    return { done: false, value }
  }

  /** An event from the engine: yielded to a waiting `next()` or kept for the next one. */
  #push(id, message) {
    if (this.#ended) return
    let value
    try {
      const body = message.p.d
      value = body === undefined ? undefined : fromBody(body, this.#custom)
    }
    catch (error) {
      this.#notice('ignored', { code: 'MALFORMED_MESSAGE', reason: `malformed message: event data: ${error.message}` })
      return
    }
    this.#events.push([id, value])
    if (this.#waiting.length > 0) this.#waiting.shift().resolve(this.#take())
  }

  /** The stream ended: pending `next()` calls end, the first with `error` if there is one. */
  #end(error) {
    if (this.#ended) return
    this.#ended = { error }
    const waiting = this.#waiting
    this.#waiting = []
    for (const { resolve, reject } of waiting) {
      const { error } = this.#ended
      this.#ended = {}
      if (error) reject(error)
      else resolve({ done: true, value: undefined })
    }
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
    this.#events = []
    this.#head = 0
    this.#end()
    this.#ended = {}
    this.#driver?.stop()
  }

  [Symbol.asyncIterator]() {
    return this
  }

  /** @internal */
  call(path, input, options = {}) {
    const main = async (call) => {
      const { path, input, context = {}, signal } = call
      const send = async (retries, delayMs) => {
        try {
          const body = await this.#driver.call(path, callBody(path, input, this.#custom), retries, delayMs, signal ?? undefined)
          return fromBody(body ?? {}, this.#custom)
        }
        catch (error) {
          throw this.#mapError(error)
        }
      }
      const { retry = 0, retryDelay = this.#retryDelayMs, shouldRetry, onRetry } = context
      const retries = await resolveValue(retry, call)
      // Plain numbers: the engine retries, across reconnects too, without a round trip here.
      if (typeof retryDelay !== 'function' && shouldRetry === undefined && onRetry === undefined) {
        return send(retries, retryDelay)
      }
      // The retry plugin's hooks (upstream's ClientRetryPlugin semantics): attempts one at a
      // time, each failure shown to `shouldRetry`, `onRetry` and a `retryDelay` function.
      let failure
      let settled
      for (let attemptIndex = 0; ;) {
        if (failure) {
          if (attemptIndex >= retries || signal?.aborted) throw failure.error
          const attempt = { ...call, attemptIndex, error: failure.error, lastEventRetry: undefined }
          if (!(await resolveValue(shouldRetry ?? true, attempt))) throw failure.error
          settled = onRetry?.(attempt)
          await pause(await resolveValue(retryDelay, attempt), signal)
          attemptIndex++
        }
        try {
          failure = undefined
          return await send(0)
        }
        catch (error) {
          failure = { error }
        }
        finally {
          if (typeof settled === 'function') settled(!failure)
          settled = undefined
        }
      }
    }
    return intercept(this.#interceptors, { path, input, context: options.context ?? {}, signal: options.signal }, main)
  }

  /** @internal */
  allows(name) {
    return this.#driver.allows(name)
  }

  #notice(type, detail) {
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
 * @internal `option` itself, or what it returns for `args` when it is a function (oRPC's
 * `Value`); the oRPC adapter resolves its options with it too.
 */
export async function resolveValue(option, ...args) {
  return typeof option === 'function' ? option(...args) : option
}

/** Waits `ms`, or less when `signal` aborts (the attempt that follows then fails at once). */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
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
  const iterator = new DurableIterator(first, options, getToken && (async () => getToken()))
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
  const custom = options.customJsonSerializers ?? []
  const body = encodeBody(options.input, custom)
  const call = lastEventId => callProcedure(options.rpcUrl, path, body, options.headers, lastEventId, options.signal)
  const first = await call(options.lastEventId)
  if (first.token === undefined) return fromBody(first.body, custom)
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
  return parsePayload(token)
}
