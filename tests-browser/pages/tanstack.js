// oRPC's TanStack Query integration over a durable iterator from our plugin: the docs' client
// (`@orpc/client` with `DurableIteratorLinkPlugin` from `durable-iterator-wasm/orpc`) wrapped by
// `createTanstackQueryUtils`, its `experimental_streamedOptions` and `experimental_liveOptions`
// observed with `@tanstack/query-core`'s `QueryObserver` (what the React, Vue, Solid and Svelte
// adapters build on). Each query's latest result is rendered and kept for the tests.

import { createORPCClient } from '@orpc/client'
import { RPCLink } from '@orpc/client/fetch'
import { createTanstackQueryUtils } from '@orpc/tanstack-query'
import { QueryClient, QueryObserver } from '@tanstack/query-core'
import { DurableIteratorLinkPlugin, getClientDurableIteratorToken } from 'durable-iterator-wasm/orpc'

const origin = location.origin
const wsOrigin = origin.replace(/^http/, 'ws')

/** Every durable iterator the link handed to TanStack Query, in order. */
const iterators = []

const link = new RPCLink({
  url: `${origin}/rpc`,
  // Runs outside the plugin's interceptor, so it sees the iterator TanStack Query receives.
  interceptors: [
    async (options) => {
      const output = await options.next()
      if (getClientDurableIteratorToken(output) !== undefined) iterators.push(output)
      return output
    },
  ],
  plugins: [new DurableIteratorLinkPlugin({ url: `${wsOrigin}/chat-room` })],
})

const client = createORPCClient(link)
const orpc = createTanstackQueryUtils(client)
const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } })

const queries = new Map()

/**
 * Observes `onMessage({ tags: [tag] })` as a `streamed` query (data: every event so far) or a
 * `live` query (data: the latest event) under `name`; resolves with the index of its iterator
 * once the link returned it.
 */
async function observe(name, kind, tag) {
  const options = kind === 'streamed'
    ? orpc.onMessage.experimental_streamedOptions({ input: { tags: [tag] } })
    : orpc.onMessage.experimental_liveOptions({ input: { tags: [tag] } })
  const before = iterators.length
  const observer = new QueryObserver(queryClient, options)
  const box = document.createElement('section')
  box.innerHTML = '<h2><span></span><span class="state"></span></h2><ul></ul>'
  box.querySelector('h2 span').textContent = `${kind} query "${name}"`
  document.getElementById('queries').append(box)
  const query = { kind, key: options.queryKey, observer, results: 0, last: undefined }
  query.unsubscribe = observer.subscribe((result) => {
    query.results++
    query.last = {
      status: result.status,
      fetchStatus: result.fetchStatus,
      data: result.data,
      error: result.error ? String(result.error) : undefined,
    }
    box.querySelector('.state').textContent = `${result.status} / ${result.fetchStatus}`
    const events = kind === 'streamed' ? result.data ?? [] : result.data === undefined ? [] : [result.data]
    box.querySelector('ul').replaceChildren(...events.map((event) => {
      const item = document.createElement('li')
      item.textContent = JSON.stringify(event)
      return item
    }))
  })
  queries.set(name, query)
  while (iterators.length === before) {
    if (query.last?.status === 'error') throw new Error(`query ${name} failed: ${query.last.error}`)
    await new Promise(r => setTimeout(r, 10))
  }
  query.iterator = iterators[before]
  return { clientId: query.iterator.clientId }
}

function get(name) {
  const query = queries.get(name)
  if (!query) throw new Error(`no query named ${name}`)
  return query
}

/** The query's latest result as the observer saw it, and its iterator's connection state. */
function status(name) {
  const query = get(name)
  return { ...query.last, results: query.results, iteratorState: query.iterator?.state }
}

/** `client.sendMessage({ message, tags })`: publishes `{ message }` to sockets holding a tag. */
async function send(message, tags) {
  await client.sendMessage({ message, tags })
}

/** Cancels the query as an app does (`queryClient.cancelQueries`), which aborts its signal. */
async function cancel(name) {
  await queryClient.cancelQueries({ queryKey: get(name).key })
}

/** Removes the query's last observer, as a component that unmounts does. */
function unsubscribe(name) {
  get(name).unsubscribe()
}

window.tanstack = { observe, status, send, cancel, unsubscribe, queryClient }
window.ready = Promise.resolve()
