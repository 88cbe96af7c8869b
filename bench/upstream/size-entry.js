// What the upstream client stack ships to a page, for the size comparison: everything
// oRPC's DurableIteratorLinkPlugin imports (the websocket RPCLink, ClientRetryPlugin, @orpc/shared
// helpers, partysocket, the valibot token schema) plus the fetch RPCLink the app calls procedures
// with. esbuild bundles and minifies it (tree shaking keeps only what these exports reach).

import { createORPCClient, getEventMeta } from '@orpc/client'
import { RPCLink as FetchRPCLink } from '@orpc/client/fetch'
import { ClientRetryPlugin } from '@orpc/client/plugins'
import { RPCLink as WebsocketRPCLink } from '@orpc/client/websocket'
import { AsyncIteratorClass, fallback, retry, stringifyJSON, toArray, value } from '@orpc/shared'
import { WebSocket as ReconnectableWebSocket } from 'partysocket'
import * as v from 'valibot'

const TokenPayloadSchema = v.object({
  chn: v.pipe(v.string(), v.description('Channel name')),
  tags: v.pipe(v.optional(v.array(v.string())), v.readonly(), v.description('Tags')),
  att: v.pipe(v.optional(v.unknown()), v.description('Attachment')),
  rpc: v.pipe(v.optional(v.array(v.string())), v.readonly(), v.description('Allowed remote methods')),
  iat: v.pipe(v.number(), v.description('Issued at time in seconds')),
  exp: v.pipe(v.number(), v.description('Expiration time in seconds')),
})

export const parsePayload = payload => v.parse(TokenPayloadSchema, payload)
export const isPayload = payload => v.is(TokenPayloadSchema, payload)

export {
  AsyncIteratorClass,
  ClientRetryPlugin,
  createORPCClient,
  fallback,
  FetchRPCLink,
  getEventMeta,
  ReconnectableWebSocket,
  retry,
  stringifyJSON,
  toArray,
  value,
  WebsocketRPCLink,
}
