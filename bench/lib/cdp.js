// A minimal Chrome DevTools Protocol driver: the part of Playwright's API that run.js uses, and
// nothing more. Playwright enables the Network domain in every page and worker, so Chromium
// copies each WebSocket frame to the driver on the socket's own thread; that cost lands inside
// the measurement (most on clients whose socket lives on the page). This driver never enables
// Network (nor Fetch): only Runtime (evaluation, uncaught exceptions), Target (contexts, pages,
// sessions) and Page.navigate, plus what the memory scenario sends (HeapProfiler, heap usage).
//
// Transport: `--remote-debugging-pipe`, NUL-delimited JSON on fds 3 (to Chromium) and 4 (from
// it), as Playwright does; sessions are flat (every message carries its `sessionId`).

import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Of the switches Playwright adds, these change how Chromium schedules a page's work (timers and
// renderer priority when it considers a page in the background): with them both drivers run the
// page the same way, and only the instrumentation differs.
const SCHEDULING_ARGS = [
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  '--disable-ipc-flooding-protection',
]

const sleep = ms => new Promise(r => setTimeout(r, ms))

/**
 * Starts Chromium with `args` (plus the pipe and a fresh profile) and connects to it.
 * @param {{ executablePath: string, args?: string[] }} options
 */
export async function launch({ executablePath, args = [] }) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'bench-chromium-'))
  const child = spawn(executablePath, [
    ...args,
    ...SCHEDULING_ARGS,
    '--remote-debugging-pipe',
    `--user-data-dir=${userDataDir}`,
    // Pages come from Target.createTarget, each in its own context; no window of its own.
    '--no-startup-window',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const connection = new Connection(child)
  const browser = new Browser(connection, child, () => {
    process.off('exit', killOnExit)
    rmSync(userDataDir, { recursive: true, force: true })
  })
  try {
    await browser.start()
  }
  catch (error) {
    await browser.close()
    throw error
  }
  return browser
}

/** The pipe: numbered calls with their replies, and events routed to their session. */
class Connection extends EventEmitter {
  constructor(child) {
    super()
    this.out = child.stdio[3]
    this.nextId = 1
    this.calls = new Map()
    this.sessions = new Map()
    this.closed = undefined
    this.stderr = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-8_192)
    })
    // Node's errors on the pipe surface through the exit below; this keeps them from throwing.
    this.out.on('error', () => {})
    let partial = ''
    const input = child.stdio[4]
    input.setEncoding('utf8')
    input.on('data', (chunk) => {
      const messages = (partial + chunk).split('\0')
      partial = messages.pop()
      for (const text of messages) this.dispatch(JSON.parse(text))
    })
    child.once('exit', (code, signal) => {
      this.closed = new Error(`Chromium exited (code ${code}, signal ${signal}); stderr:\n${this.stderr}`)
      this.failCalls(() => true, this.closed)
    })
  }

  send(method, params = {}, sessionId = undefined) {
    if (this.closed) return Promise.reject(this.closed)
    // The point of this driver; the memory scenario's sessions come through here as well.
    if (/^(Network|Fetch)\./.test(method)) return Promise.reject(new Error(`${method}: this driver stays out of the network`))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, method, sessionId })
      this.out.write(`${JSON.stringify({ id, method, params, sessionId })}\0`)
    })
  }

  dispatch(message) {
    if (message.id !== undefined) {
      const call = this.calls.get(message.id)
      if (!call) return
      this.calls.delete(message.id)
      if (message.error) call.reject(new Error(`${call.method}: ${message.error.message}`))
      else call.resolve(message.result)
      return
    }
    const target = message.sessionId ? this.sessions.get(message.sessionId) : this
    target?.emit(message.method, message.params)
  }

  /** Rejects the pending calls that `match`: a call to a crashed or detached page never returns. */
  failCalls(match, error) {
    for (const [id, call] of this.calls) {
      if (!match(call)) continue
      this.calls.delete(id)
      call.reject(error)
    }
  }

  /** A flat session on `targetId`, attached now. */
  async attach(targetId) {
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true })
    const session = new Session(this, sessionId, targetId)
    this.sessions.set(sessionId, session)
    return session
  }
}

/** One attached session: `send`, and its events through `on`/`off` (Playwright's CDPSession). */
class Session extends EventEmitter {
  constructor(connection, id, targetId) {
    super()
    this.connection = connection
    this.id = id
    this.targetId = targetId
  }

  send(method, params) {
    return this.connection.send(method, params, this.id)
  }
}

class Browser {
  constructor(connection, child, cleanUp) {
    this.connection = connection
    this.child = child
    this.cleanUp = cleanUp
    this.product = 'unknown'
  }

  async start() {
    const connection = this.connection
    // Target events (not Network): a crashed or closed page fails its pending calls, as in
    // Playwright, instead of leaving the harness waiting forever.
    connection.on('Target.targetCrashed', ({ targetId }) =>
      this.failTarget(targetId, new Error(`page crashed (${targetId})`)))
    connection.on('Target.detachedFromTarget', ({ sessionId }) => {
      connection.sessions.delete(sessionId)
      connection.failCalls(call => call.sessionId === sessionId, new Error('page closed'))
    })
    await connection.send('Target.setDiscoverTargets', { discover: true })
    const { product } = await connection.send('Browser.getVersion')
    this.product = product
  }

  failTarget(targetId, error) {
    const sessions = [...this.connection.sessions.values()].filter(s => s.targetId === targetId).map(s => s.id)
    this.connection.failCalls(call => sessions.includes(call.sessionId), error)
  }

  /** As Playwright's: the version without the product name. */
  version() {
    return this.product.split('/').pop()
  }

  /** A fresh browser context (its own cookies and storage), like Playwright's newContext. */
  async newContext() {
    const { browserContextId } = await this.connection.send('Target.createBrowserContext', { disposeOnDetach: true })
    return new Context(this.connection, browserContextId)
  }

  async close() {
    if (!this.connection.closed) {
      await this.connection.send('Browser.close').catch(() => {})
      const exited = new Promise(r => this.child.once('exit', r))
      if (await Promise.race([exited.then(() => true), sleep(10_000)]) !== true) {
        this.child.kill('SIGKILL')
        await exited
      }
    }
    this.cleanUp()
  }
}

class Context {
  constructor(connection, id) {
    this.connection = connection
    this.id = id
  }

  async newPage() {
    const { targetId } = await this.connection.send('Target.createTarget', { url: 'about:blank', browserContextId: this.id })
    const page = new Page(this, await this.connection.attach(targetId), targetId)
    await page.start()
    return page
  }

  /** Another session on `page`, for protocol calls of its own (the memory scenario's). */
  newCDPSession(page) {
    return this.connection.attach(page.targetId)
  }

  close() {
    return this.connection.send('Target.disposeBrowserContext', { browserContextId: this.id })
  }
}

class Page extends EventEmitter {
  constructor(context, session, targetId) {
    super()
    this.owner = context
    this.session = session
    this.targetId = targetId
  }

  async start() {
    // Uncaught exceptions and unhandled rejections, as Playwright's 'pageerror'.
    this.session.on('Runtime.exceptionThrown', ({ exceptionDetails }) => {
      const text = exceptionDetails.exception?.description ?? exceptionDetails.text
      const error = new Error(text)
      error.stack = text
      this.emit('pageerror', error)
    })
    await this.session.send('Runtime.enable')
  }

  context() {
    return this.owner
  }

  /** Navigates and waits until the new document has loaded. */
  async goto(url, { timeout = 30_000 } = {}) {
    const { errorText } = await this.session.send('Page.navigate', { url })
    if (errorText) throw new Error(`navigating to ${url}: ${errorText}`)
    // Page.navigate can answer before the document is replaced: wait for the new one, loaded.
    await this.waitForFunction(href => location.href === href && document.readyState === 'complete', new URL(url).href, { timeout })
  }

  /** Calls `fn(arg)` in the page; resolves with its (awaited) value, copied as JSON. */
  async evaluate(fn, arg) {
    const { result, exceptionDetails } = await this.session.send('Runtime.evaluate', {
      expression: `(${fn})(${literal(arg)})`,
      awaitPromise: true,
      returnByValue: true,
    })
    if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text)
    return fromRemote(result)
  }

  /** Polls `fn(arg)` until it is truthy; errors (a document being replaced) count as not yet. */
  async waitForFunction(fn, arg, { timeout = 30_000, polling = 20 } = {}) {
    const deadline = Date.now() + timeout
    let last
    for (;;) {
      try {
        const value = await this.evaluate(fn, arg)
        if (value) return value
      }
      catch (error) {
        if (this.session.connection.closed) throw error
        last = error
      }
      if (Date.now() > deadline) throw new Error(`waitForFunction timed out after ${timeout} ms${last ? `: ${last.message}` : ''}`)
      await sleep(polling)
    }
  }
}

/**
 * `value` as JavaScript source: JSON, plus what JSON loses and run.js passes (Infinity as an
 * expected count, undefined options).
 */
function literal(value) {
  if (value === undefined) return 'undefined'
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value)
  if (Array.isArray(value)) return `[${value.map(literal).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${literal(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** A by-value RemoteObject as a Node value (top-level NaN, Infinity, -0 and bigints included). */
function fromRemote(result) {
  const special = result.unserializableValue
  if (special === undefined) return result.value
  return special.endsWith('n') ? BigInt(special.slice(0, -1)) : Number(special)
}
