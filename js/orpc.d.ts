import type { CustomJsonSerializer, DurableIterator, Interceptor, ReconnectOptions, TokenPayload } from './index.js'

/** What the oRPC link hands to option functions: the call's path, input and options. */
export interface LinkCallOptions {
  path: readonly string[]
  input: unknown
  context: Record<string, unknown>
  signal?: AbortSignal
  lastEventId?: string
}

type Value<T> = T | ((payload: TokenPayload, options: LinkCallOptions) => T | Promise<T>)

/** Options of {@link DurableIteratorLinkPlugin}: upstream's names plus ours. */
export interface DurableIteratorLinkPluginOptions {
  /** WebSocket URL of the object, or a (possibly async) function of the token payload. */
  url: Value<string | URL>
  /** Unguessable id the socket presents to the object, created once per iterator. @default crypto.randomUUID() */
  createId?: (payload: TokenPayload, options: LinkCallOptions) => string | Promise<string>
  /** Refresh the token this many seconds before it expires. @default NaN (off) */
  refreshTokenBeforeExpireInSeconds?: Value<number>
  /** Least delay between refresh attempts, seconds. @default 2 */
  refreshTokenDelayInSeconds?: Value<number>
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
export class DurableIteratorLinkPlugin {
  constructor(options: DurableIteratorLinkPluginOptions)
  readonly order: number
  init(options: { interceptors?: unknown[], clientInterceptors?: unknown[] }): void
}

/** What a durable iterator procedure returns on the client, as upstream's `ClientDurableIterator`. */
export type ClientDurableIterator<TEvent, TRpc extends object = {}> = DurableIterator<TEvent, TRpc>
