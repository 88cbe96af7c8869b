// Starts and stops the reference object server (crate durable-iterator-server) for one test file,
// and wraps its test-only HTTP endpoints. Every test file gets its own process: fresh in-memory
// database, random signing key, resume on, so no state leaks between files.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const LISTENING = /^durable-iterator-server listening on (http:\/\/\S+)$/
const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 3_000
const CHANNEL = 'some-room'

/** Where the server binary is: `DURABLE_ITERATOR_SERVER_BIN`, else the cargo debug build. */
export function serverBinary() {
  if (process.env.DURABLE_ITERATOR_SERVER_BIN) {
    return resolve(process.env.DURABLE_ITERATOR_SERVER_BIN)
  }
  const targetDir = resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR ?? 'target')
  return resolve(targetDir, 'debug', 'durable-iterator-server')
}

/**
 * Spawns the server on an ephemeral loopback port and resolves once it printed its listening
 * line. Extra CLI flags can be appended with `extraArgs`.
 */
export async function startServer({ extraArgs = [] } = {}) {
  const bin = serverBinary()
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin}: run \`cargo build -p durable-iterator-server\` or set DURABLE_ITERATOR_SERVER_BIN`)
  }
  const signingKey = randomBytes(24).toString('hex')
  const args = [
    '--addr', '127.0.0.1:0',
    '--signing-key', signingKey,
    '--resume-retention-seconds', '60',
    '--test-endpoints',
    '--db', ':memory:',
    ...extraArgs,
  ]
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => {
    // Keep only the tail: enough to explain a failure, bounded for a chatty server.
    stderr = (stderr + chunk).slice(-8_192)
  })

  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })))

  const baseUrl = await new Promise((resolveUrl, reject) => {
    const lines = createInterface({ input: child.stdout })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not print its listening line within ${START_TIMEOUT_MS} ms; stderr:\n${stderr}`))
    }, START_TIMEOUT_MS)
    lines.on('line', (line) => {
      const match = LISTENING.exec(line.trim())
      if (match) {
        clearTimeout(timer)
        resolveUrl(match[1])
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
  // Keep draining stdout so a server that logs there never blocks on a full pipe.
  child.stdout.resume()

  const wsBaseUrl = baseUrl.replace(/^http:/, 'ws:')

  async function stop() {
    process.removeListener('exit', killOnExit)
    if (child.exitCode !== null || child.signalCode !== null) {
      return
    }
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await exited
    clearTimeout(timer)
  }

  async function postJson(path, body) {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const text = await response.text()
    if (response.status !== 200) {
      throw new Error(`POST ${path} -> ${response.status}: ${text}`)
    }
    return JSON.parse(text)
  }

  return {
    baseUrl,
    rpcUrl: `${baseUrl}/rpc`,
    objectUrl: `${wsBaseUrl}/chat-room`,
    signingKey,
    channel: CHANNEL,
    stop,
    stderr: () => stderr,

    /** Publishes `count` events of about `size` bytes through the test endpoint. */
    publish: ({ count = 1, size = 16, tags } = {}) =>
      postJson('/test/publish', { channel: CHANNEL, count, size, ...(tags ? { tags } : {}) }),

    /** Abruptly drops every socket of the channel (no close handshake). */
    drop: () => postJson('/test/drop', { channel: CHANNEL }),

    /** The server's view of the channel's sockets. */
    async sockets() {
      const response = await fetch(`${baseUrl}/test/sockets?channel=${encodeURIComponent(CHANNEL)}`)
      const text = await response.text()
      if (response.status !== 200) {
        throw new Error(`GET /test/sockets -> ${response.status}: ${text}`)
      }
      return JSON.parse(text).sockets
    },

    /** Polls `/test/sockets` until `predicate(sockets)` returns a truthy value, which it returns. */
    async waitForSockets(predicate, { timeoutMs = 5_000, what = 'socket state' } = {}) {
      const deadline = Date.now() + timeoutMs
      let last
      while (Date.now() < deadline) {
        last = await this.sockets()
        const found = predicate(last)
        if (found) {
          return found
        }
        await new Promise(r => setTimeout(r, 20))
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last sockets: ${JSON.stringify(last)}`)
    },

    /** Resolves with the socket entry of client `id` once it has subscribed. */
    waitSubscribed(id, options = {}) {
      return this.waitForSockets(
        sockets => sockets.find(s => s.id === id && s.subscribed === true),
        { what: `client ${id} to subscribe`, ...options },
      )
    },
  }
}
