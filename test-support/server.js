// Starts and stops the reference object server (crate durable-iterator-server) for the JS
// suites (tests-node, tests-browser, tests-demo) and the benchmarks, and wraps its test-only
// HTTP endpoints. Plain ESM with no dependencies, imported by relative path, so no suite needs
// to link or install it. Every caller gets its own process: a free loopback port, a fresh
// signing key, in-memory storage, so nothing leaks between test files or runs.

import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The repository root (this file is test-support/server.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The demo channel: every token of the server's `/rpc/onMessage` opens it. */
export const CHANNEL = 'some-room'

const LISTENING = /^durable-iterator-server listening on (http:\/\/\S+)$/
/** A debug build on a machine busy with other builds can take seconds to open its database. */
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 3_000

/**
 * The server binary: `DURABLE_ITERATOR_SERVER_BIN`, else cargo's build of `profile` (`debug`
 * or `release`) under `CARGO_TARGET_DIR` (default `target/`).
 * @param {{ profile?: 'debug' | 'release' }} [options]
 */
export function serverBinary({ profile = 'debug' } = {}) {
  if (process.env.DURABLE_ITERATOR_SERVER_BIN) return resolve(process.env.DURABLE_ITERATOR_SERVER_BIN)
  const target = resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR ?? 'target')
  return resolve(target, profile, 'durable-iterator-server')
}

/**
 * Spawns the server and resolves once it printed its listening line.
 * @param {{
 *   binary?: string,                 // default: serverBinary()
 *   staticDir?: string,              // served at `/` (`--static-dir`)
 *   resumeRetentionSeconds?: number, // default 60
 *   args?: string[],                 // more CLI flags, e.g. ['--compat', 'upstream']
 *   env?: Record<string, string>,    // added to this process's environment
 *   channel?: string,                // the channel the endpoint helpers default to
 *   onStderrLine?: (line: string) => void,
 * }} [options]
 */
export async function startServer(options = {}) {
  const {
    binary = serverBinary(),
    staticDir,
    resumeRetentionSeconds = 60,
    args = [],
    env,
    channel: defaultChannel = CHANNEL,
    onStderrLine,
  } = options
  if (!existsSync(binary)) {
    throw new Error(`server binary not found at ${binary}: build it with \`cargo build -p durable-iterator-server\` (\`--release\` for benchmarks) or set DURABLE_ITERATOR_SERVER_BIN`)
  }
  // Hex: a base64url key can start with '-', which the CLI would take for an option.
  const signingKey = randomBytes(24).toString('hex')
  const child = spawn(binary, [
    '--addr', '127.0.0.1:0',
    '--signing-key', signingKey,
    '--resume-retention-seconds', String(resumeRetentionSeconds),
    '--db', ':memory:',
    '--test-endpoints',
    ...(staticDir ? ['--static-dir', staticDir] : []),
    ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  // Only the tail: enough to explain a failure, bounded for a chatty server.
  let stderr = ''
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr = `${stderr}${line}\n`.slice(-8_192)
    onStderrLine?.(line)
  })
  const exited = new Promise(done => child.once('exit', (code, signal) => done({ code, signal })))

  let baseUrl
  try {
    baseUrl = await new Promise((found, reject) => {
      const timer = setTimeout(() => {
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
  }
  catch (error) {
    child.kill('SIGKILL')
    process.removeListener('exit', killOnExit)
    throw error
  }

  /** One call to a test endpoint; a non-200 answer is an error carrying its body. */
  async function request(method, path, body, { timeoutMs = 60_000 } = {}) {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`${method} ${path} -> ${response.status}: ${text}`)
    return JSON.parse(text)
  }

  const server = {
    baseUrl,
    rpcUrl: `${baseUrl}/rpc`,
    objectUrl: `${baseUrl.replace(/^http:/, 'ws:')}/chat-room`,
    signingKey,
    channel: defaultChannel,
    pid: child.pid,
    /** The tail of the server's log (stderr). */
    stderr: () => stderr,

    async stop() {
      process.removeListener('exit', killOnExit)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    },

    /**
     * A token for `channel` signed as the object expects (HMAC-SHA256 over the payload JSON),
     * valid for `ttlSeconds`; `claims` adds `tags`, `att` or `rpc`.
     */
    token(channel = defaultChannel, { ttlSeconds = 86_400, ...claims } = {}) {
      const iat = Math.floor(Date.now() / 1000)
      const json = JSON.stringify({ chn: channel, ...claims, iat, exp: iat + ttlSeconds })
      return `${json}.${createHmac('sha256', signingKey).update(json).digest('base64url')}`
    },

    /**
     * `/test/publish`: `count` events `{seq, pad}` of about `size` bytes (to sockets holding one
     * of `tags`, when given); `rate` paces them per second, `stamp` adds the send time `t`.
     */
    publish: ({ channel = defaultChannel, count = 1, size = 16, tags, rate, stamp } = {}, requestOptions) =>
      request('POST', '/test/publish', {
        channel,
        count,
        size,
        ...(tags ? { tags } : {}),
        ...(rate ? { rate } : {}),
        ...(stamp ? { stamp } : {}),
      }, requestOptions),

    /** Drops every socket of the channel without a close frame (as a lost network does). */
    drop: ({ channel = defaultChannel } = {}) => request('POST', '/test/drop', { channel }),

    /** The server's view of the channel's sockets: `[{id, conn, tags, exp, subscribed}]`. */
    sockets: async (channel = defaultChannel) =>
      (await request('GET', `/test/sockets?channel=${encodeURIComponent(channel)}`)).sockets,

    /** Polls the sockets until `predicate` returns something truthy, and returns that. */
    async waitForSockets(predicate, { channel = defaultChannel, timeoutMs = 10_000, what = 'socket state' } = {}) {
      const deadline = Date.now() + timeoutMs
      let last
      while (Date.now() < deadline) {
        last = await server.sockets(channel)
        const found = predicate(last)
        if (found) return found
        await new Promise(r => setTimeout(r, 20))
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last sockets: ${JSON.stringify(last)}`)
    },

    /** The socket entry of client `id` once it has subscribed. */
    waitSubscribed: (id, options = {}) => server.waitForSockets(
      sockets => sockets.find(s => s.id === id && s.subscribed === true),
      { what: `client ${id} to subscribe`, ...options },
    ),

    /** Resolves once `count` sockets of the channel have subscribed. */
    waitSubscribedCount: (count, { channel = defaultChannel, timeoutMs = 60_000 } = {}) => server.waitForSockets(
      sockets => sockets.filter(s => s.subscribed).length >= count,
      { channel, timeoutMs, what: `${count} sockets of ${channel} to subscribe` },
    ),

    /** Resolves once the server holds no socket of client `id`. */
    waitGone: (id, options = {}) => server.waitForSockets(
      sockets => !sockets.some(s => s.id === id),
      { what: `client ${id}'s socket to close`, ...options },
    ),
  }
  return server
}
