/** Payload of a durable iterator token (readable by clients, never secret). */
export interface TokenPayload {
  /** Channel: which object the token opens. */
  chn: string
  /** Tags that select tagged events. */
  tags?: readonly string[]
  /** Attachment: application data such as a user id. */
  att?: unknown
  /** Object methods the holder may call. */
  rpc?: readonly string[]
  /** Issued at, seconds since the epoch. */
  iat: number
  /** Expires at, seconds since the epoch. */
  exp: number
}

/** A custom rich-JSON type, as oRPC's `customJsonSerializers` take them. */
export interface CustomJsonSerializer {
  /** Meta type number; must not clash with the built-ins 0-7. */
  type: number
  condition(data: unknown): boolean
  serialize(data: any): unknown
  deserialize(serialized: any): unknown
}

/** One call as the retry options' functions see it. */
export interface RpcCall {
  path: readonly string[]
  input: unknown
  context: Record<string, unknown>
  signal?: AbortSignal
}

/** A failed attempt, as `retryDelay`, `shouldRetry` and `onRetry` see it (oRPC's shape). */
export interface RpcAttempt extends RpcCall {
  /** 0 for the first retry. */
  attemptIndex: number
  /** Why the attempt failed. */
  error: unknown
  /** Always undefined: calls carry no event `retry` hint. */
  lastEventRetry: number | undefined
}

/** The retry options of a call, as oRPC's `ClientRetryPlugin` takes them in the context. */
export interface RpcRetryContext {
  /** Extra attempts after a failure (default 0). */
  retry?: number | ((call: RpcCall) => number | Promise<number>)
  /** ms before each retry (default `rpcRetryDelayInSeconds`). */
  retryDelay?: number | ((attempt: RpcAttempt) => number | Promise<number>)
  /** Whether to retry after this failure (default true). */
  shouldRetry?: boolean | ((attempt: RpcAttempt) => boolean | Promise<boolean>)
  /** Called before each retry; a function it returns hears whether that retry succeeded. */
  onRetry?: (attempt: RpcAttempt) => void | ((isSuccess: boolean) => void)
}

/** Options of an RPC call on the iterator. */
export interface RpcCallOptions {
  /** Aborts the call; it then rejects with code `ABORTED`. */
  signal?: AbortSignal
  /** The retry options, and anything your interceptors read. */
  context?: RpcRetryContext & { [key: string]: unknown }
}

/** oRPC-style interceptor run around each RPC call. */
export type Interceptor = (options: {
  path: readonly string[]
  input: unknown
  context: Record<string, unknown>
  signal?: AbortSignal
  next(options?: { path: readonly string[], input: unknown, context: Record<string, unknown>, signal?: AbortSignal }): Promise<unknown>
}) => Promise<unknown>

/** Reconnect policy: full-jitter exponential backoff. */
export interface ReconnectOptions {
  /** Ceiling of the first retry delay, ms. @default 200 */
  initialDelayMs?: number
  /** Largest retry delay, ms. @default 10000 */
  maxDelayMs?: number
  /** Growth of the ceiling per failed attempt. @default 2 */
  factor?: number
  /** How long an opening socket may take, ms. @default 4000 */
  connectTimeoutMs?: number
  /**
   * How long a socket must stay up before the attempt counter resets, ms; a socket that
   * delivered events resets it when it is lost. @default 5000
   */
  stableAfterMs?: number
  /** Give up after this many failed attempts in a row. @default Infinity */
  maxAttempts?: number
}

/** Options of a durable iterator. */
export interface DurableIteratorOptions {
  /** WebSocket URL of the object, or a function of the token payload returning it. */
  url: string | URL | ((payload: TokenPayload) => string | URL)
  /** Resume after this event id on the first subscribe. @default undefined (live events only) */
  lastEventId?: string
  /** Refresh the token this many seconds before it expires (needs a token function). @default undefined (off) */
  refreshTokenBeforeExpireInSeconds?: number
  /**
   * Delay after a failed refresh, seconds; it doubles with each further failure in a row, up
   * to `reconnect.maxDelayMs`. Also the least delay between refreshes. @default 2
   */
  refreshTokenDelayInSeconds?: number
  /** Default delay between RPC call retries, seconds. @default 2 */
  rpcRetryDelayInSeconds?: number
  /** Reconnect policy. */
  reconnect?: ReconnectOptions
  /** Probe a silent socket after `idleMs` and reconnect without an answer in `timeoutMs`; `false` disables. @default { idleMs: 20000, timeoutMs: 10000 } */
  liveness?: false | { idleMs?: number, timeoutMs?: number }
  /** How many delivered event ids are remembered to drop replayed duplicates. @default 4096 */
  dedupCapacity?: number
  /** Largest frame read from the object, bytes; a larger one is dropped with an `ignored` event. @default 16777216 (16 MiB) */
  maxFrameBytes?: number
  /** Id the socket presents to the object; must be unguessable. @default crypto.randomUUID() */
  clientId?: string
  /** A WebSocket class for hosts without a global one (Node: `import WebSocket from 'ws'`). Given, it is used as is, on the calling thread. @default globalThis.WebSocket */
  WebSocket?: unknown
  /**
   * Run the socket in a dedicated worker (one per page, shared by every iterator) that hands
   * frames to the page in batches: a busy stream costs the page one task per batch instead of
   * one per message. `false` keeps the socket on the calling thread. Ignored where workers are
   * unavailable (Node) or blocked (a Content-Security-Policy without `worker-src blob:`).
   * @default true
   */
  offMainThread?: boolean
  /** Stops the iterator when aborted. */
  signal?: AbortSignal
  /** Custom rich-JSON types for events and calls. @default [] */
  customJsonSerializers?: readonly CustomJsonSerializer[]
  /** Interceptors around every RPC call. @default [] */
  interceptors?: readonly Interceptor[]
}

/** Options of {@link connect}. */
export interface ConnectOptions extends DurableIteratorOptions {
  /** The app server's RPC base URL, e.g. `http://localhost:8787/rpc`. */
  rpcUrl: string
  /** The procedure: `'onMessage'`, `'chat.onMessage'` or `['chat', 'onMessage']`. */
  procedure: string | readonly string[]
  /** The procedure's input. @default undefined */
  input?: unknown
  /** Extra request headers for the procedure calls. @default {} */
  headers?: Record<string, string>
}

/** Connection states. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'refreshing' | 'closed'

/** Details of connection events (`it.addEventListener(type, e => e.detail)`). */
export interface ConnectionEventMap {
  connecting: CustomEvent<{ state: 'connecting', attempt: number }>
  open: CustomEvent<{ state: 'open' }>
  reconnecting: CustomEvent<{ state: 'reconnecting', attempt: number, delayMs: number, code: number, reason: string }>
  offline: CustomEvent<{ state: 'offline' }>
  refreshing: CustomEvent<{ state: 'refreshing' }>
  closed: CustomEvent<{ state: 'closed', code: number, reason: string }>
  statechange: CustomEvent<{ state: ConnectionState, attempt?: number, delayMs?: number, code?: number, reason?: string }>
  resumed: CustomEvent<{ lastEventId: string }>
  gap: CustomEvent<Record<string, never>>
  refreshfailed: CustomEvent<{ reason: string, retryInMs: number }>
  token: CustomEvent<Record<string, never>>
  /** The object sent a frame the client dropped (too large, malformed, unknown type or request id); the stream goes on. */
  ignored: CustomEvent<{ code: 'FRAME_TOO_LARGE' | 'MALFORMED_MESSAGE' | 'UNKNOWN_MESSAGE_TYPE' | 'UNEXPECTED_RESPONSE', reason: string }>
}

/** The async iterator part of a durable iterator. */
export interface DurableIteratorBase<TEvent> extends AsyncIterableIterator<TEvent> {
  next(): Promise<IteratorResult<TEvent, undefined>>
  /** Stops: closes the socket and every timer; a pending `next()` ends. */
  return(value?: unknown): Promise<IteratorResult<TEvent, undefined>>
  /** Connection state now. */
  readonly state: ConnectionState
  /** Id of the last event yielded. */
  readonly lastEventId: string | undefined
  /** The token in use. */
  readonly token: string
  /** Payload of the token in use. */
  readonly tokenPayload: TokenPayload
  /** The id the socket presents to the object. */
  readonly clientId: string
  addEventListener<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void
  removeEventListener<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void, options?: boolean | EventListenerOptions): void
}

/** A callable RPC client for a function-typed method, recursively for routers. */
export type RpcClient<T> = T extends (...args: infer A) => infer R
  ? (A extends [] ? (input?: undefined, options?: RpcCallOptions) => Promise<Awaited<R>> : (input: A[0], options?: RpcCallOptions) => Promise<Awaited<R>>)
  : T extends object ? { readonly [K in keyof T]: RpcClient<T[K]> } : never

/**
 * A durable iterator yielding `TEvent`, whose properties named in `TRpc` are RPC clients:
 * `TRpc` describes the allowed object methods, e.g.
 * `{ singleClient: (input: { message: string }) => void, routerClient: { ping: () => string, echo: (input: { text: string }) => string } }`.
 */
export type DurableIterator<TEvent, TRpc extends object = {}> = DurableIteratorBase<TEvent> & AsyncDisposeMethod & { readonly [K in keyof TRpc]: RpcClient<TRpc[K]> }

/**
 * `[Symbol.asyncDispose]()`, which `await using` calls (it stops the iterator); declared only
 * when the TypeScript lib in use knows `Symbol.asyncDispose`, so older libs still compile.
 */
export type AsyncDisposeMethod = SymbolConstructor extends { readonly asyncDispose: infer K extends symbol }
  ? { [P in K]: () => Promise<void> }
  : {}

/** The one error class: `code` is stable (`TOKEN_EXPIRED`, `RPC_NOT_ALLOWED`, an oRPC code such as `FORBIDDEN`, ...). */
export class DurableIteratorError extends Error {
  constructor(code: string, message: string, details?: { status?: number, data?: unknown, defined?: boolean, cause?: unknown })
  readonly code: string
  readonly status: number | undefined
  readonly data: unknown
  readonly defined: boolean
}

/** Loads the wasm engine (`connect` and `fromToken` do it on first use). */
export function initialize(source?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<unknown>

/** Starts a durable iterator from a token, or from a function giving tokens (then it can refresh). */
export function fromToken<TEvent = unknown, TRpc extends object = {}>(
  token: string | (() => string | Promise<string>),
  options: DurableIteratorOptions,
): Promise<DurableIterator<TEvent, TRpc>>

/** Calls a procedure; a durable iterator output becomes a live iterator, anything else is returned as is. */
export function connect<TEvent = unknown, TRpc extends object = {}>(options: ConnectOptions): Promise<DurableIterator<TEvent, TRpc>>

/** Reads a token's payload without verifying it. */
export function parseToken(token: string): Promise<TokenPayload>

/** oRPC rich-JSON: `{ json, meta }` of a value. */
export function serialize(value: unknown, custom?: readonly CustomJsonSerializer[]): { json: unknown, meta: Array<Array<string | number>> }
/** oRPC rich-JSON: the value of `{ json, meta }`. */
export function deserialize(json: unknown, meta?: ReadonlyArray<ReadonlyArray<string | number>>, custom?: readonly CustomJsonSerializer[]): unknown
/** oRPC rich-JSON body text of a value (`{}` for undefined). */
export function encodeBody(value: unknown, custom?: readonly CustomJsonSerializer[]): string
/** The value of an oRPC rich-JSON body text. */
export function decodeBody(text: string, custom?: readonly CustomJsonSerializer[]): unknown

/** @internal */
export const MAP_ERROR: unique symbol
