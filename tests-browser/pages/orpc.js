// The oRPC docs' Durable Iterator client example (the seed document), running in the page with
// one change: `DurableIteratorLinkPlugin` is imported from `durable-iterator-wasm/orpc` instead
// of `@orpc/experimental-durable-iterator/client`. Everything else is the real @orpc/client.
// The example's snippets are wrapped in functions the tests call step by step; what the
// iterators receive is rendered into the page.

import { createORPCClient, onError, ORPCError } from '@orpc/client'
import { RPCLink } from '@orpc/client/fetch'
import { DurableIteratorLinkPlugin, getClientDurableIteratorToken } from 'durable-iterator-wasm/orpc'

const origin = location.origin
const wsOrigin = origin.replace(/^http/, 'ws')

/** Errors that the plugin's `onError` interceptor saw (the docs log them). */
const rpcErrors = []

const link = new RPCLink({
  url: `${origin}/rpc`,
  plugins: [
    new DurableIteratorLinkPlugin({
      url: `${wsOrigin}/chat-room`,
      interceptors: [
        onError((e) => {
          rpcErrors.push(describeError(e))
          console.error(e) // log error thrown from rpc calls
        }),
      ],
    }),
  ],
})

const client = createORPCClient(link)

// "Auto Refresh Token Before Expiration" (the docs refresh 10 minutes ahead of a day-long token;
// the tests ask for 3-second tokens and refresh 2 seconds ahead).
const refreshingClient = createORPCClient(new RPCLink({
  url: `${origin}/rpc`,
  plugins: [
    new DurableIteratorLinkPlugin({
      url: `${wsOrigin}/chat-room`,
      refreshTokenBeforeExpireInSeconds: 2,
    }),
  ],
}))

function describeError(error) {
  return {
    name: error?.name,
    code: error?.code,
    status: error?.status,
    message: String(error?.message ?? error),
    isORPCError: error instanceof ORPCError,
  }
}

const listeners = new Map()

function log(text) {
  const item = document.createElement('li')
  item.textContent = text
  document.getElementById('log').append(item)
}

function section(name) {
  const box = document.createElement('section')
  box.id = `iterator-${name}`
  box.innerHTML = '<h2><span></span><span class="state">connecting</span></h2><ul></ul>'
  box.querySelector('h2 span').textContent = `iterator "${name}"`
  document.getElementById('iterators').append(box)
  return box
}

/**
 * The docs' example loop: `const iterator = await client.onMessage()` and
 * `for await (const { message } of iterator)`, under a name. `abortable` passes a signal as
 * in "Stopping the Durable Iterator"; `refreshing` uses the auto-refresh link.
 */
async function listen(name, input, { abortable = false, refreshing = false } = {}) {
  const box = section(name)
  const controller = abortable ? new AbortController() : undefined
  const listener = { messages: [], ended: undefined, controller }
  listeners.set(name, listener)
  const iterator = await (refreshing ? refreshingClient : client).onMessage(input, { signal: controller?.signal })
  listener.iterator = iterator
  const badge = box.querySelector('.state')
  iterator.addEventListener('statechange', (event) => {
    badge.textContent = event.detail.state
    badge.className = `state ${event.detail.state}`
  })
  listener.loop = (async () => {
    try {
      for await (const { message } of iterator) {
        console.log('Received message:', message)
        listener.messages.push(message)
        const item = document.createElement('li')
        item.textContent = `Received message: ${message}`
        box.querySelector('ul').append(item)
      }
      listener.ended = { done: true }
    }
    catch (error) {
      listener.ended = { error: describeError(error) }
    }
    badge.textContent = 'ended'
    badge.className = 'state closed'
  })()
  return { clientId: iterator.clientId }
}

/** `await client.sendMessage({ message: 'Hello, world!' })`. */
async function send(message) {
  await client.sendMessage({ message })
  log(`client.sendMessage(${JSON.stringify({ message })})`)
}

function get(name) {
  const listener = listeners.get(name)
  if (!listener) throw new Error(`no iterator named ${name}`)
  return listener
}

function status(name) {
  const { messages, ended, iterator } = get(name)
  return { messages, ended, state: iterator.state, exp: iterator.tokenPayload.exp }
}

/** `getClientDurableIteratorToken` of iterator `name`, beside the iterator's own `token`. */
function tokenOf(name) {
  const { iterator } = get(name)
  return { token: getClientDurableIteratorToken(iterator), own: iterator.token }
}

window.chat = { client, listen, send, get, status, tokenOf, getClientDurableIteratorToken, log, rpcErrors, describeError, ORPCError }
window.ready = Promise.resolve()
