// The bench page: three clients behind one shape, and collectors that time what they deliver.
// The harness (bench/run.js) opens clients through `window.bench`, publishes from Node through
// the server's test endpoints, and reads the collectors back.
//
// - ours: the npm package (`/pkg/`), `fromToken` and `for await`; `ours-page` the same with
//   its socket on the page (`offMainThread: false`, run with `--with-page-socket`);
//   `ours-before` the same from the baseline package (`/pkg-before/`, run with
//   `--baseline-pkg`), imported only by the pages that open it;
// - upstream: the upstream-equivalent stack (`/upstream.js`, bundled from npm by the harness);
// - floor: a raw WebSocket and `JSON.parse` of each frame, no logic at all.

import * as ours from '/pkg/index.js'
import * as upstream from '/upstream.js'

/**
 * The wall clock in ms with sub-ms precision, comparable with the server's publish stamps:
 * `performance.timeOrigin + performance.now()` can sit a few ms (or more) off the system clock,
 * so it is corrected once by the offset to `Date.now()` measured at a millisecond tick.
 */
const clockOffset = (() => {
  const start = Date.now()
  let now = start
  while (now === start) now = Date.now()
  return now - (performance.timeOrigin + performance.now())
})()
const wallNow = () => performance.timeOrigin + performance.now() + clockOffset
const handles = new Map()
let nextHandle = 1
/** The wasm memory of each package, by client (`ours-page` shares `ours`'s). */
const wasmMemories = {}
/** The module of the baseline package, once an `ours-before` client needs it. */
let before

/**
 * The memory of the last wasm instance the page created: wasm-bindgen's `initialize()` returns
 * the module's exports, the lean package's returns nothing, so the instantiation is watched.
 */
let instantiatedMemory
for (const name of ['instantiate', 'instantiateStreaming']) {
  const original = WebAssembly[name]
  WebAssembly[name] = async function (...args) {
    const result = await original.apply(this, args)
    instantiatedMemory = (result.instance ?? result).exports.memory
    return result
  }
}

/** Initializes `pkg` and keeps its wasm memory as `client`'s. */
async function initialize(client, pkg) {
  instantiatedMemory = undefined
  const exports = await pkg.initialize()
  wasmMemories[client] = exports?.memory ?? instantiatedMemory
}

/** The object's upgrade URL for one client id, as every client builds it. */
function upgradeUrl(objectUrl, token) {
  const url = new URL(objectUrl)
  url.searchParams.append('id', crypto.randomUUID())
  url.searchParams.append('token', token)
  return url
}

/** Drains an async iterator into `collector`; stops quietly when closed. */
async function pump(iterator, collector) {
  try {
    for await (const value of iterator) collector.event(value)
  }
  catch (error) {
    if (!collector.closed) collector.fail(error)
  }
}

/** The client of package `pkg()` with `extra` options. */
function oursWith(extra, pkg = () => ours) {
  return async (objectUrl, token, collector) => {
    const it = await pkg().fromToken(token, { url: objectUrl, ...extra })
    it.addEventListener('reconnecting', () => collector.disconnected())
    pump(it, collector)
    return () => it.return()
  }
}

const CLIENTS = {
  'ours': oursWith({}),
  'ours-page': oursWith({ offMainThread: false }),
  'ours-before': oursWith({}, () => before),
  async upstream(objectUrl, token, collector) {
    const sub = await upstream.subscribe(objectUrl, token, { onDisconnect: () => collector.disconnected() })
    pump(sub.iterator, collector)
    return () => sub.close()
  },
  async floor(objectUrl, token, collector) {
    const ws = new WebSocket(upgradeUrl(objectUrl, token))
    ws.onopen = () => ws.send('{"i":"1","p":{"u":"/subscribe","b":{}}}')
    ws.onmessage = (frame) => {
      const message = JSON.parse(frame.data)
      if (message.t === 3 && message.p.e === 'message') collector.event(message.p.d.json)
    }
    // No logic: a floor socket that closes is a failed measurement (the recovery scenario
    // does not run the floor).
    ws.onclose = (event) => {
      collector.disconnected()
      if (!collector.closed) collector.fail(new Error(`floor socket closed (${event.code})`))
    }
    return () => ws.close()
  },
}

/**
 * Counts deliveries over every client of a handle; `latency` keeps publish-to-delivery times
 * (payloads stamped with `t`), `keys` keeps what arrived (for lost/duplicate counts) and when.
 */
class Collector {
  constructor({ expected, latency = false, keys = false }) {
    this.expected = expected
    this.count = 0
    this.first = 0
    this.last = 0
    this.latencies = latency ? [] : undefined
    this.arrivals = keys ? [] : undefined
    this.disconnects = 0
    this.lastDisconnect = -1
    this.error = undefined
    this.closed = false
    this.waiters = []
  }

  event(value) {
    const now = performance.now()
    if (this.count++ === 0) this.first = now
    this.last = now
    if (this.latencies) this.latencies.push(performance.timeOrigin + clockOffset + now - value.t)
    if (this.arrivals) this.arrivals.push({ key: `${value.t}:${value.seq}`, at: now })
    if (this.waiters.length) this.wake()
  }

  disconnected() {
    this.disconnects++
    this.lastDisconnect = performance.now()
  }

  fail(error) {
    this.error = String(error?.stack ?? error)
    this.wake()
  }

  wake() {
    this.waiters = this.waiters.filter(w => !w())
  }

  /** Resolves when `test()` holds (checked after every event), or rejects after `timeoutMs`. */
  until(test, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter(w => w !== check)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.count} events; ${this.error ?? 'no error'})`))
      }, timeoutMs)
      const check = () => {
        if (this.error) {
          clearTimeout(timer)
          reject(new Error(this.error))
          return true
        }
        if (!test()) return false
        clearTimeout(timer)
        resolve()
        return true
      }
      if (!check()) this.waiters.push(check)
    })
  }
}

window.bench = {
  /** Opens `count` clients of `client` kind on `token`'s channel; returns a handle. */
  async open(client, objectUrl, token, count, options) {
    const collector = new Collector(options)
    if (client === 'ours-before' && !before) {
      before = await import('/pkg-before/index.js')
      await initialize(client, before)
    }
    const closers = []
    for (let i = 0; i < count; i++) closers.push(await CLIENTS[client](objectUrl, token, collector))
    const handle = nextHandle++
    handles.set(handle, { collector, closers })
    return handle
  },

  /** Waits until `expected` (or `count`) events arrived; returns the delivery window and latencies. */
  async wait(handle, timeoutMs, count) {
    const { collector } = handles.get(handle)
    const target = count ?? collector.expected
    await collector.until(() => collector.count >= target, timeoutMs, `${target} events`)
    return {
      count: collector.count,
      seconds: (collector.last - collector.first) / 1000,
      latencies: collector.latencies,
    }
  },

  /**
   * Drops the sockets of `channel` `drops` times, `gapMs` apart, while the harness publishes;
   * each time measures from the drop until the first event delivered after the client saw the
   * socket go. Returns those times (ms) and every arrival key (for lost and duplicate counts).
   */
  async recovery(handle, channel, { drops, gapMs, timeoutMs }) {
    const { collector } = handles.get(handle)
    const times = []
    for (let i = 0; i < drops; i++) {
      await new Promise(r => setTimeout(r, gapMs))
      const before = collector.disconnects
      const dropped = performance.now()
      const response = await fetch('/test/drop', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel }),
      })
      if (!response.ok) throw new Error(`drop: ${response.status}`)
      await collector.until(() => collector.disconnects > before, timeoutMs, 'the client to see the drop')
      const seen = collector.count
      await collector.until(() => collector.count > seen, timeoutMs, 'the first event after the drop')
      times.push(collector.last - dropped)
    }
    return { times }
  },

  /** Keys of everything delivered so far (call after the publisher stopped). */
  async arrivals(handle, settleMs) {
    await new Promise(r => setTimeout(r, settleMs))
    const { collector } = handles.get(handle)
    return collector.arrivals.map(a => a.key)
  },

  /** Closes every client of a handle. */
  async close(handle) {
    const entry = handles.get(handle)
    if (!entry) return
    entry.collector.closed = true
    for (const close of entry.closers) await close()
    handles.delete(handle)
  },

  /** Bytes of the linear memory of `client`'s wasm module (`ours` by default; NaN without one). */
  wasmMemoryBytes(client = 'ours') {
    return wasmMemories[client]?.buffer.byteLength ?? Number.NaN
  },

  now: wallNow,
}

window.ready = initialize('ours', ours)
