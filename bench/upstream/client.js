// The upstream-equivalent client, as the bench page runs it: what oRPC's
// DurableIteratorLinkPlugin builds per iterator (packages/durable-iterator/src/client/plugin.ts),
// assembled from the published packages it is made of: a partysocket reconnecting WebSocket with
// its defaults, the websocket RPCLink with ClientRetryPlugin, and `/subscribe` with unlimited
// retries, resuming from the last event id. Bundled by esbuild into the bench site.

import { createORPCClient, getEventMeta } from '@orpc/client'
import { ClientRetryPlugin } from '@orpc/client/plugins'
import { RPCLink } from '@orpc/client/websocket'
import { WebSocket as ReconnectingWebSocket } from 'partysocket'

/**
 * Subscribes to the object at `objectUrl` with `token`. `onDisconnect` is told when the socket
 * closes (the recovery scenario's clock); the result's `iterator` yields the events.
 */
export async function subscribe(objectUrl, token, { onDisconnect } = {}) {
  const id = crypto.randomUUID()
  const websocket = new ReconnectingWebSocket(() => {
    const url = new URL(objectUrl)
    url.searchParams.append('id', id)
    url.searchParams.append('token', token)
    return url.toString()
  })
  if (onDisconnect) websocket.addEventListener('close', onDisconnect)
  const client = createORPCClient(new RPCLink({ websocket, plugins: [new ClientRetryPlugin()] }))
  const iterator = await client.subscribe(undefined, { context: { retry: Number.POSITIVE_INFINITY } })
  return {
    iterator,
    close() {
      websocket.close()
      iterator.return?.().catch(() => {})
    },
  }
}

export { getEventMeta }
