// Starts the reference object server (crate durable-iterator-server) for one test file, serving
// a static directory at `/` so the test pages, the npm package and @orpc/client share its origin,
// and wraps its test-only endpoints.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { resolve } from 'node:path'

import { REPO_ROOT } from './site.js'

const LISTENING = /^durable-iterator-server listening on (http:\/\/\S+)$/
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 3_000
/** The demo channel: every token of `/rpc/onMessage` opens it. */
export const CHANNEL = 'some-room'

/** `DURABLE_ITERATOR_SERVER_BIN`, else the cargo debug build. */
export function serverBinary() {
  if (process.env.DURABLE_ITERATOR_SERVER_BIN) return resolve(process.env.DURABLE_ITERATOR_SERVER_BIN)
  const target = resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR ?? 'target')
  return resolve(target, 'debug', 'durable-iterator-server')
}

/**
 * Spawns the server on a free loopback port with a random signing key, in-memory resume
 * storage (60 s), the test endpoints and `staticDir` at `/`; resolves once it is listening.
 */
export async function startServer({ staticDir }) {
  const bin = serverBinary()
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin}: run \`cargo build -p durable-iterator-server\` or set DURABLE_ITERATOR_SERVER_BIN`)
  }
  const args = [
    '--addr', '127.0.0.1:0',
    // Hex: a base64url key can start with '-', which the CLI would take for an option.
    '--signing-key', randomBytes(24).toString('hex'),
    '--resume-retention-seconds', '60',
    '--db', ':memory:',
    '--test-endpoints',
    '--static-dir', staticDir,
  ]
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8_192)
  })
  const exited = new Promise(done => child.once('exit', (code, signal) => done({ code, signal })))

  const baseUrl = await new Promise((found, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not print its listening line within ${START_TIMEOUT_MS} ms; stderr:\n${stderr}`))
    }, START_TIMEOUT_MS)
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = LISTENING.exec(line.trim())
      if (match) {
        clearTimeout(timer)
        found(match[1])
      }
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`server exited before listening (code ${code}, signal ${signal}); stderr:\n${stderr}`))
    })
  })
  child.stdout.resume()

  async function request(method, path, body) {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`${method} ${path} -> ${response.status}: ${text}`)
    return JSON.parse(text)
  }

  const server = {
    baseUrl,
    rpcUrl: `${baseUrl}/rpc`,
    objectUrl: `${baseUrl.replace(/^http:/, 'ws:')}/chat-room`,
    stderr: () => stderr,

    async stop() {
      process.removeListener('exit', killOnExit)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    },

    /** Publishes `count` events `{seq, pad}` (to sockets holding one of `tags`, when given). */
    publish: ({ count = 1, size = 16, tags } = {}) =>
      request('POST', '/test/publish', { channel: CHANNEL, count, size, ...(tags ? { tags } : {}) }),

    /** Drops every socket of the channel without a close frame. */
    drop: () => request('POST', '/test/drop', { channel: CHANNEL }),

    /** The server's view of the channel's sockets: `[{id, conn, tags, exp, subscribed}]`. */
    sockets: async () => (await request('GET', `/test/sockets?channel=${encodeURIComponent(CHANNEL)}`)).sockets,

    /** Polls the sockets until `predicate` returns something truthy, and returns that. */
    async waitForSockets(predicate, { timeoutMs = 10_000, what = 'socket state' } = {}) {
      const deadline = Date.now() + timeoutMs
      let last
      while (Date.now() < deadline) {
        last = await server.sockets()
        const found = predicate(last)
        if (found) return found
        await new Promise(r => setTimeout(r, 25))
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last sockets: ${JSON.stringify(last)}`)
    },

    /** The socket entry of client `id` once it has subscribed. */
    waitSubscribed: (id, options = {}) => server.waitForSockets(
      sockets => sockets.find(s => s.id === id && s.subscribed === true),
      { what: `client ${id} to subscribe`, ...options },
    ),

    /** Resolves once the server holds no socket of client `id`. */
    waitGone: (id, options = {}) => server.waitForSockets(
      sockets => !sockets.some(s => s.id === id),
      { what: `client ${id}'s socket to close`, ...options },
    ),
  }
  return server
}
