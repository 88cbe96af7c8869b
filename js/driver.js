// Drives the sans-IO engine (the wasm `Core`) with the host: sockets, frames, one timer, page
// signals and the token source go in; sockets, sends, events, notices and call results come
// out. The engine speaks numbers and strings through one entry point,
// `core.input(kind, nums, text)`, and answers with the JSON text of its outputs (SPEC Part C).

import {
  ABORT, CALL, CALL_ERR, CALL_OK, CALL_REFUSED, CALL_STARTED, CLOSE, CLOSED, ENDED, EVENT, FRAMES, GAP, IGNORED, INIT, KEEP,
  OFFLINE, ONLINE, OPEN, OPENED, REFRESH, REFRESH_FAILED, REFRESHED, RELEASE, RESUMED, SEND, STATE, STOP, TIMEOUT, TIMER, TOKEN,
  WAKE,
} from './engine-codes.js'
import { CODES, DurableIteratorError, describe, toError } from './errors.js'
import { openSocket } from './sockets.js'
import { parsePayload, readFrame, upgradeUrl } from './wire.js'

/** The connection states, by the engine's number for them. */
export const STATES = ['connecting', 'open', 'reconnecting', 'offline', 'refreshing', 'closed']
const MAX_TIMEOUT_MS = 2 ** 31 - 1
const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
const MAX_FRAMES_PER_INPUT = 256
/** The engine's reason for a frame the driver found malformed; the driver has a better one. */
const NOT_A_PEER_MESSAGE = 'not a peer message'

const now = () => performance.now()

/**
 * A numeric option: a finite non-negative number, else `fallback`; NaN, the engine reads as
 * "its default" (the defaults live in one place, the engine's options).
 */
const option = (value, fallback = Number.NaN) => typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback

/** Appends the lengths of `strings` to `nums` and returns them concatenated. */
function pack(nums, strings) {
  for (const text of strings) nums.push(text.length)
  return strings.join('')
}

/** The claims of a token payload as the engine takes them: nums, then text. */
function claims(payload, token, nums) {
  const tags = payload.tags ?? []
  const rpc = payload.rpc ?? []
  nums.push(payload.iat, payload.exp, payload.tags ? tags.length : -1, payload.rpc ? rpc.length : -1)
  return [token, payload.chn, ...tags, ...rpc]
}

/**
 * An unguessable client id: `crypto.randomUUID()`, or where it is missing (outside secure
 * contexts) a version 4 UUID from `crypto.getRandomValues`.
 */
const randomId = () => crypto.randomUUID?.()
  ?? '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, digit => (digit ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (digit / 4)))).toString(16))

/** The caller's `url` option as a function of the token payload. */
function urlOption(url) {
  if (typeof url === 'string' || url instanceof URL) return () => String(url)
  if (typeof url !== 'function') {
    throw new DurableIteratorError('INVALID_OPTION', 'invalid option: `url` must be a string or a function of the token payload')
  }
  return (payload) => {
    const value = url(payload)
    if (typeof value === 'string' || (value !== null && typeof value === 'object')) return String(value)
    throw new TypeError('the `url` function returned neither a string nor a URL')
  }
}

/**
 * One durable iterator's driver. `sink` hears what the application sees:
 * `event(id, message)` (the parsed peer message whose `p.d` is the event body),
 * `notice(type, detail)` and, once, `end(error?)`.
 */
export class Driver {
  /** Connection state: connecting, open, reconnecting, offline, refreshing or closed. */
  state = 'connecting'
  /** The token in use. */
  token
  /** The id the socket presents to the object. */
  clientId

  #core
  #sink
  #url
  #options
  #getToken
  #ended = false
  /** Outputs still to act on (an action may feed inputs whose outputs queue behind). */
  #queue = []
  #head = 0
  #draining = false
  /** The one socket: `{ id, transport }`. */
  #socket
  #deadline = -1
  #timer
  #timerAt = Infinity
  #calls = new Map()
  /** Messages whose events wait for lower ids of a text-ordered replay, by the engine's key. */
  #kept = new Map()
  #unwatch
  #maxFrameBytes
  /** The methods the current token allows. */
  #rpc

  /**
   * Starts the engine and with it the socket. `token` is the first token, `getToken` the
   * token source for refreshes (or undefined: then refresh is off). Throws
   * `DurableIteratorError` for an invalid token or option.
   */
  constructor(Core, token, options, getToken, sink) {
    const payload = parsePayload(token)
    this.#sink = sink
    this.#url = urlOption(options.url)
    this.#options = options
    this.#getToken = getToken
    this.token = token
    this.#rpc = payload.rpc ?? []
    this.clientId = typeof options.clientId === 'string' ? options.clientId : randomId()
    const reconnect = options.reconnect
    const liveness = options.liveness
    const lastEventId = typeof options.lastEventId === 'string' ? [options.lastEventId] : []
    this.#maxFrameBytes = Math.floor(option(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES))
    const nums = [now(), Math.random() * 2 ** 32 >>> 0, Math.random() * 2 ** 32 >>> 0]
    const strings = claims(payload, token, nums)
    const lists = strings.splice(2)
    nums.push(
      lastEventId.length,
      option(reconnect?.connectTimeoutMs),
      option(reconnect?.stableAfterMs),
      Math.floor(option(reconnect?.maxAttempts)),
      Number.NaN, // failed opens before the token is suspected
      liveness === false ? -1 : option(liveness?.idleMs),
      option(liveness?.timeoutMs),
      // Without a way to get a new token, expiry must end the iterator, not retry.
      getToken ? option(options.refreshTokenBeforeExpireInSeconds) * 1000 : -1,
      option(options.refreshTokenDelayInSeconds) * 1000,
      Math.floor(option(options.dedupCapacity)),
      this.#maxFrameBytes,
      option(reconnect?.initialDelayMs),
      option(reconnect?.maxDelayMs),
      Math.max(1, option(reconnect?.factor)),
    )
    const text = pack(nums, [this.clientId, ...strings, ...lastEventId, ...lists])
    this.#core = new Core()
    const first = this.#feed(INIT, nums, text)
    if (first[0]?.[0] === ENDED && first[0][1]) {
      this.#close()
      throw toError(first[0][1])
    }
    this.#watchPage()
    this.#drain()
  }

  /** Whether the current token lets the iterator call `method`. */
  allows(method) {
    return this.#rpc.includes(method)
  }

  /** Stops the iterator: the socket closes, every timer and listener goes, the stream ends. */
  stop() {
    this.#input(STOP, [now()])
  }

  /**
   * Calls an object method: `path` is `[method, ...nested]`, `body` the whole `/call` body
   * text. Resolves with the answer's body (parsed; undefined when absent).
   */
  call(path, body, retries, retryDelayMs, signal) {
    if (this.#ended) return Promise.reject(toError(['ITERATOR_ENDED']))
    const nums = [now(), Number(retries), option(retryDelayMs), path.length]
    const text = pack(nums, [...path, body])
    const outputs = this.#feed(CALL, nums, text)
    const started = outputs.find(output => output[0] === CALL_STARTED || output[0] === CALL_REFUSED)
    if (started[0] === CALL_REFUSED) {
      this.#drain()
      return Promise.reject(toError(started[1]))
    }
    const id = started[1]
    const promise = new Promise((resolve, reject) => {
      const abort = () => this.#input(ABORT, [now(), id])
      this.#calls.set(id, { resolve, reject, signal, abort })
      signal?.addEventListener('abort', abort, { once: true })
    })
    this.#drain()
    if (signal?.aborted) this.#input(ABORT, [now(), id])
    return promise
  }

  /** Feeds one input and acts on what follows. */
  #input(kind, nums, text = '', messages, reasons) {
    this.#feed(kind, nums, text, messages, reasons)
    this.#drain()
  }

  /**
   * Feeds one input to the engine and queues its outputs; returns them. Outputs that name a
   * message of this input's FRAMES batch get the message itself: a handle means nothing once
   * the next input is fed.
   */
  #feed(kind, nums, text, messages = [], reasons = []) {
    if (this.#ended) return []
    let outputs
    try {
      outputs = JSON.parse(this.#core.input(kind, nums, text))
    }
    catch (error) {
      // The engine failed (a bug in it): end the iterator rather than leave it hanging.
      const reason = describe(error)
      outputs = [[STATE, 5, 0, 0, 1011, reason], [ENDED, ['ENGINE_FAILED', reason]], [CALL_REFUSED, ['ITERATOR_ENDED']]]
    }
    for (const output of outputs) {
      switch (output[0]) {
        case TIMER:
          this.#deadline = output[1]
          continue
        case CALL_STARTED:
        case CALL_REFUSED:
          continue
        case KEEP:
          this.#kept.set(output[2], messages[output[1]])
          continue
        case RELEASE: {
          const key = output[1]
          output[0] = EVENT
          output[1] = this.#kept.get(key)
          this.#kept.delete(key)
          break
        }
        case EVENT:
          output[1] = messages[output[1]]
          break
        case CALL_OK:
          output[2] = messages[output[2]]
          break
        case IGNORED:
          // A frame the driver could not read: the driver knows why.
          if (output[1][1] === NOT_A_PEER_MESSAGE && reasons.length > 0) output[1][1] = reasons.shift()
          break
      }
      const error = output[0] === CALL_ERR ? output[2] : output[0] === ENDED ? output[1] : undefined
      if (CODES[error?.[0]] === 'REJECTED') error[2] = messages[error[2]]
      this.#queue.push(output)
    }
    return outputs
  }

  /** Acts on queued outputs in order, then arms the timer. */
  #drain() {
    if (this.#draining) return
    this.#draining = true
    try {
      while (this.#head < this.#queue.length) {
        const output = this.#queue[this.#head]
        this.#queue[this.#head++] = undefined
        this.#act(output)
      }
    }
    finally {
      this.#queue.length = 0
      this.#head = 0
      this.#draining = false
    }
    this.#armTimer()
  }

  #act(output) {
    const socket = this.#socket
    switch (output[0]) {
      case OPEN:
        return this.#open(output[1], output[2])
      case SEND:
        if (socket?.id === output[1]) socket.transport.send(output[2])
        return
      case CLOSE:
        if (socket?.id === output[1]) {
          this.#socket = undefined
          socket.transport.close(output[2], output[3])
        }
        return
      case EVENT:
        return this.#sink.event(output[2], output[1])
      case STATE: {
        const [, index, attempt, delayMs, code, reason] = output
        const state = STATES[index]
        this.state = state
        const detail = index === 0
          ? { state, attempt }
          : index === 2 ? { state, attempt, delayMs, code, reason } : index === 5 ? { state, code, reason } : { state }
        return this.#sink.notice(state, detail)
      }
      case RESUMED:
        return this.#sink.notice('resumed', { lastEventId: output[1] })
      case GAP:
        return this.#sink.notice('gap', {})
      case REFRESH:
        return void this.#refresh()
      case REFRESH_FAILED:
        return this.#sink.notice('refreshfailed', { reason: output[1], retryInMs: output[2] })
      case TOKEN:
        this.token = output[1]
        this.#rpc = parsePayload(this.token).rpc ?? []
        return this.#sink.notice('token', {})
      case IGNORED: {
        const { code, message } = toError(output[1])
        return this.#sink.notice('ignored', { code, reason: message })
      }
      case CALL_OK:
        return this.#settle(output[1], true, output[2]?.p?.b)
      case CALL_ERR:
        return this.#settle(output[1], false, toError(output[2]))
      case ENDED:
        this.#close()
        return this.#sink.end(output[1] ? toError(output[1]) : undefined)
    }
  }

  /** Opens socket `id` with `token`; a URL or socket that fails counts as a failed open. */
  #open(id, token) {
    let transport
    try {
      const url = upgradeUrl(this.#url(parsePayload(token)), this.clientId, token)
      transport = openSocket(url, this.#options, {
        opened: () => this.#input(OPENED, [now(), id]),
        messages: (frames) => {
          // A burst goes in slices: wasm memory never shrinks, so what one input needs (its
          // numbers, text and outputs) must not grow with the burst.
          for (let at = 0; at < frames.length && !this.#ended; at += MAX_FRAMES_PER_INPUT) {
            const slice = frames.length > MAX_FRAMES_PER_INPUT ? frames.slice(at, at + MAX_FRAMES_PER_INPUT) : frames
            const nums = [now(), id, slice.length]
            const texts = []
            const reasons = []
            const messages = slice.map(frame => readFrame(frame, this.#maxFrameBytes, nums, texts, reasons))
            this.#input(FRAMES, nums, texts.join(''), messages, reasons)
          }
        },
        closed: (code, reason = '') => {
          if (this.#socket?.id === id) this.#socket = undefined
          this.#input(CLOSED, [now(), id, code, reason.length], reason)
        },
      })
    }
    catch (error) {
      const reason = describe(error)
      this.#feed(CLOSED, [now(), id, 1006, reason.length], reason)
      return
    }
    this.#socket?.transport.close(1000, '')
    this.#socket = { id, transport }
  }

  /** Runs the token source and answers the engine with REFRESHED. */
  async #refresh() {
    let nums
    let text
    try {
      if (!this.#getToken) throw new Error('no way to refresh the token')
      const token = await this.#getToken()
      if (typeof token !== 'string') throw new Error('the refresh did not produce a token string')
      nums = [now(), 1]
      text = pack(nums, claims(parsePayload(token), token, nums))
    }
    catch (error) {
      const reason = describe(error)
      nums = [now(), 0, reason.length]
      text = reason
    }
    this.#input(REFRESHED, nums, text)
  }

  #settle(id, ok, value) {
    const call = this.#calls.get(id)
    if (!call) return
    this.#calls.delete(id)
    call.signal?.removeEventListener('abort', call.abort)
    if (ok) call.resolve(value)
    else call.reject(value)
  }

  #armTimer() {
    if (this.#ended) return
    const at = this.#deadline
    // A timer armed for no later than the next deadline stays: it fires early, finds nothing
    // due and is armed again then (every frame pushes the liveness deadline forward).
    if (this.#timer !== undefined && at >= 0 && this.#timerAt <= at) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Infinity
    if (at < 0) return
    this.#timerAt = at
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#timerAt = Infinity
      this.#input(TIMEOUT, [now()])
    }, Math.min(Math.max(0, Math.ceil(at - now())), MAX_TIMEOUT_MS))
  }

  /**
   * Coming back online or to a visible page means "try now" instead of waiting out a long
   * backoff; being offline means "do not burn attempts". Only pages have these signals.
   */
  #watchPage() {
    const page = typeof window === 'object' ? window : undefined
    if (!page?.addEventListener) return
    const online = () => this.#input(ONLINE, [now()])
    const visible = () => {
      // A page that slept may have missed `online`; a wake alone does not clear offline.
      if (page.navigator?.onLine !== false) online()
      this.#input(WAKE, [now()])
    }
    const listeners = [
      [page, 'online', online],
      [page, 'offline', () => this.#input(OFFLINE, [now()])],
      [page, 'pageshow', visible],
      [page.document, 'visibilitychange', () => page.document.visibilityState === 'visible' && visible()],
    ]
    for (const [target, type, listener] of listeners) target?.addEventListener(type, listener)
    this.#unwatch = () => {
      for (const [target, type, listener] of listeners) target?.removeEventListener(type, listener)
    }
    if (page.navigator?.onLine === false) this.#input(OFFLINE, [now()])
  }

  /** Releases everything: socket, timer, listeners, calls and the engine. */
  #close() {
    this.#ended = true
    this.#socket?.transport.close(1000, '')
    this.#socket = undefined
    this.#kept.clear()
    clearTimeout(this.#timer)
    this.#unwatch?.()
    for (const id of [...this.#calls.keys()]) this.#settle(id, false, toError(['ITERATOR_ENDED']))
    try {
      this.#core.free()
    }
    catch {}
  }
}
