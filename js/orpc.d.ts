// Upstream's client types are declared here over `@orpc/client`'s own `Client`, `NestedClient`
// and `AsyncIteratorClass` (a peer dependency, for types and for `ORPCError` at run time), so
// a contract written against `@orpc/experimental-durable-iterator` type-checks unchanged, and
// the object an upstream server returns satisfies a contract typed with ours (and back).

import type { AsyncIteratorClass, Client, ClientContext, NestedClient, ThrowableError } from '@orpc/client'
import type { ClientRetryPluginContext } from '@orpc/client/plugins'
import type { StandardLinkInterceptorOptions, StandardLinkOptions } from '@orpc/client/standard'
import type { CustomJsonSerializer, Interceptor, ReconnectOptions, TokenPayload } from './index.js'

/** What the oRPC link hands to option functions: the call's path, input, context and signal. */
export type LinkCallOptions<T extends ClientContext = ClientContext> = StandardLinkInterceptorOptions<T>

type Value<T, TContext extends ClientContext> = T | ((payload: TokenPayload, options: LinkCallOptions<TContext>) => T | Promise<T>)

/** Options of {@link DurableIteratorLinkPlugin}: upstream's names plus ours; `T` is the link's context. */
export interface DurableIteratorLinkPluginOptions<T extends ClientContext = ClientContext> {
  /** WebSocket URL of the object, or a (possibly async) function of the token payload. */
  url: Value<string | URL, T>
  /** Unguessable id the socket presents to the object, created once per iterator. @default crypto.randomUUID() */
  createId?: (payload: TokenPayload, options: LinkCallOptions<T>) => string | Promise<string>
  /** Refresh the token this many seconds before it expires. @default NaN (off) */
  refreshTokenBeforeExpireInSeconds?: Value<number, T>
  /** Least delay between refresh attempts, seconds. @default 2 */
  refreshTokenDelayInSeconds?: Value<number, T>
  /** Interceptors around every RPC call on the iterator. @default [] */
  interceptors?: readonly Interceptor[]
  /** Link plugins: their `init` interceptors run around RPC calls. @default [] */
  plugins?: ReadonlyArray<{ order?: number, init?(options: { interceptors: Interceptor[], clientInterceptors: unknown[] }): void }>
  /** Custom rich-JSON types. @default [] */
  customJsonSerializers?: readonly CustomJsonSerializer[]
  /** Ours: reconnect policy. */
  reconnect?: ReconnectOptions
  /** Ours: liveness probing, or `false`. @default { idleMs: 20000, timeoutMs: 10000 } */
  liveness?: false | { idleMs?: number, timeoutMs?: number }
  /** Ours: a WebSocket class for hosts without a global one (Node: the `ws` package). */
  WebSocket?: unknown
  /** Ours: run the socket in a worker that batches frames to the page; `false` keeps it on the page. @default true */
  offMainThread?: boolean
}

/** Drop-in for `DurableIteratorLinkPlugin` of `@orpc/experimental-durable-iterator/client`. */
export class DurableIteratorLinkPlugin<T extends ClientContext = ClientContext> {
  constructor(options: DurableIteratorLinkPluginOptions<T>)
  /** Runs before (modifies results after) the retry plugin, as upstream's. */
  readonly order: number
  init(options: StandardLinkOptions<T>): void
}

/** What `DurableIteratorObject` carries at the type level only: the type of its events. */
export interface DurableIteratorObjectDef<T extends object> {
  '~eventPayloadType'?: { type: T }
}

/**
 * The object's interface as the client sees it: `T` is its event type; methods returning an
 * oRPC client (`(...args: any[]) => NestedClient`) are its RPC methods. Upstream's server-side
 * `DurableIteratorObject` class satisfies it, so contract-first code can name either.
 */
export interface DurableIteratorObject<T extends object> {
  '~orpc'?: DurableIteratorObjectDef<T>
}

/** The names of `T`'s RPC methods: those a token's `rpc` list may grant. */
export type InferDurableIteratorObjectRPC<T extends DurableIteratorObject<any>> = Exclude<{
  [K in keyof T]: T[K] extends ((...args: any[]) => NestedClient<object>) ? K : never
}[keyof T], keyof AsyncIteratorClass<any>> & string

/**
 * The context of every RPC call on the iterator: the retry plugin's (`retry`, `retryDelay`,
 * ...). Add your own fields with `declare module 'durable-iterator-wasm/orpc' { interface
 * ClientDurableIteratorRpcContext { ... } }`; interceptors receive them.
 */
export interface ClientDurableIteratorRpcContext extends ClientRetryPluginContext {
}

/**
 * An object method's client as the iterator exposes it: the same input and output, the
 * iterator's call context, and errors typed as any thrown error (the object's declared errors
 * do not survive the hop, as upstream).
 */
export type ClientDurableIteratorRpc<T extends NestedClient<object>>
  = T extends Client<any, infer UInput, infer UOutput, any>
    ? Client<ClientDurableIteratorRpcContext, UInput, UOutput, ThrowableError>
    : { [K in keyof T]: T[K] extends NestedClient<object> ? ClientDurableIteratorRpc<T[K]> : never }

/**
 * What a durable iterator procedure returns on the client: an async iterator of `T`'s events
 * whose properties named in `RPC` (the methods the token grants) are callable clients, e.g.
 * `ClientDurableIterator<ChatRoom, 'publishMessage'>`. At run time the iterator also has this
 * package's connection API (`state`, `lastEventId`, connection events): see `DurableIterator`
 * in `durable-iterator-wasm`.
 */
export type ClientDurableIterator<
  T extends DurableIteratorObject<any>,
  RPC extends InferDurableIteratorObjectRPC<T>,
> = AsyncIteratorClass<T extends DurableIteratorObject<infer TPayload> ? TPayload : never> & {
  [K in RPC]: T[K] extends (...args: any[]) => (infer R extends NestedClient<object>) ? ClientDurableIteratorRpc<R> : never
}

/** The token in use by `client` when it is a durable iterator from {@link DurableIteratorLinkPlugin}, else `undefined`. */
export function getClientDurableIteratorToken(client: unknown): string | undefined
