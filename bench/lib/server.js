// The reference server for one benchmark run: the release binary on a free loopback port, with
// resume on (in-memory storage), the test endpoints, the bench site at `/`, and a fresh key the
// harness signs tokens with (so every scenario gets its own channel without an app procedure).

import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'

const LISTENING = /^durable-iterator-server listening on (http:\/\/\S+)$/

/**
 * Starts `binary` serving `staticDir`; resolves once it printed its listening line.
 * @param {{ binary: string, staticDir: string }} options
 */
export async function startServer({ binary, staticDir }) {
  if (!existsSync(binary)) {
    throw new Error(`server binary not found at ${binary}: run \`cargo build --release -p durable-iterator-server\``)
  }
  // Hex: a key that starts with '-' would read as an option.
  const signingKey = randomBytes(24).toString('hex')
  const args = [
    '--addr', '127.0.0.1:0',
    '--signing-key', signingKey,
    '--resume-retention-seconds', '60',
    '--db', ':memory:',
    '--test-endpoints',
    '--static-dir', staticDir,
    // Bursts are paced by the server against this bound; a roomy one keeps a client that a busy
    // machine starves for a few seconds from being closed as a slow consumer mid-measurement.
    '--max-queued-events', '65536',
  ]
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8_192)
  })
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; stderr:\n${stderr}`)), 15_000)
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = LISTENING.exec(line.trim())
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`server exited (code ${code}, signal ${signal}); stderr:\n${stderr}`))
    })
  })
  child.stdout.resume()

  async function post(path, body) {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(600_000),
    })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`POST ${path} -> ${response.status}: ${text}`)
    return JSON.parse(text)
  }

  async function sockets(channel) {
    const response = await fetch(`${baseUrl}/test/sockets?channel=${encodeURIComponent(channel)}`)
    if (response.status !== 200) throw new Error(`GET /test/sockets -> ${response.status}`)
    return (await response.json()).sockets
  }

  return {
    baseUrl,
    objectUrl: `${baseUrl.replace(/^http:/, 'ws:')}/chat-room`,
    signingKey,
    pid: child.pid,
    stderr: () => stderr,

    /** A token for `channel`, signed like the object expects, valid for a day. */
    token(channel) {
      const iat = Math.floor(Date.now() / 1000)
      const json = JSON.stringify({ chn: channel, iat, exp: iat + 86_400 })
      return `${json}.${createHmac('sha256', signingKey).update(json).digest('base64url')}`
    },

    /** `/test/publish`: `count` events of about `size` bytes; `rate` paces, `stamp` adds `t`. */
    publish: (channel, { count, size = 100, rate, stamp = false }) =>
      post('/test/publish', { channel, count, size, stamp, ...(rate ? { rate } : {}) }),

    /** Resolves once `count` sockets of `channel` have subscribed. */
    async waitSubscribed(channel, count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      let seen = 0
      while (Date.now() < deadline) {
        seen = (await sockets(channel)).filter(s => s.subscribed).length
        if (seen >= count) return
        await new Promise(r => setTimeout(r, 20))
      }
      throw new Error(`only ${seen} of ${count} sockets subscribed to ${channel} within ${timeoutMs} ms`)
    },

    async stop() {
      process.removeListener('exit', killOnExit)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    },
  }
}
