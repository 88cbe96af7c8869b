// Type-level usage of the npm package, compiled by test/types.test.js with `tsc --noEmit
// --strict` against the package's own .d.ts files (resolved through its package.json
// `exports`). Each `@ts-expect-error` line must be an error: if the types ever accepted it,
// tsc would report the directive as unused and the test would fail.

import { createORPCClient, onError, type Client } from '@orpc/client'
import { RPCLink } from '@orpc/client/fetch'
import {
  connect,
  decodeBody,
  DurableIteratorError,
  encodeBody,
  fromToken,
  parseToken,
  type DurableIterator,
  type TokenPayload,
} from 'durable-iterator-wasm'
import { DurableIteratorLinkPlugin, type ClientDurableIterator, type DurableIteratorObject } from 'durable-iterator-wasm/orpc'

/** The events of the docs' chat room. */
type ChatEvent = { message: string }

/** The object methods the docs' tokens allow. */
type ChatRpc = {
  singleClient: (input: { message: string }) => void
  routerClient: {
    ping: () => string
    echo: (input: { text: string }) => string
  }
}

type ChatIterator = DurableIterator<ChatEvent, ChatRpc>

export async function iterate(it: ChatIterator): Promise<string[]> {
  const messages: string[] = []
  for await (const { message } of it) {
    messages.push(message)
  }
  // @ts-expect-error: the events have no `mesage`
  for await (const { mesage } of it) void mesage
  return messages
}

export async function callMethods(it: ChatIterator): Promise<void> {
  const echoed: string = await it.routerClient.echo({ text: 'Hello' })
  const pong: string = await it.routerClient.ping()
  const nothing: void = await it.singleClient({ message: 'Hello, world!' })
  await it.singleClient({ message: 'with options' }, { context: { retry: 3 }, signal: AbortSignal.timeout(1000) })
  void [echoed, pong, nothing]

  // @ts-expect-error: a misspelled method name
  await it.singleClinet({ message: 'x' })
  // @ts-expect-error: a misspelled nested method name
  await it.routerClient.ecko({ text: 'x' })
  // @ts-expect-error: a method the token does not allow
  await it.router.ping()
  // @ts-expect-error: the input has the wrong type
  await it.routerClient.echo({ text: 42 })
  // @ts-expect-error: the input is required
  await it.singleClient()
  // @ts-expect-error: echo answers a string
  const wrong: number = await it.routerClient.echo({ text: 'x' })
  void wrong
}

export async function iteratorMembers(it: ChatIterator): Promise<void> {
  const state: 'connecting' | 'open' | 'reconnecting' | 'offline' | 'refreshing' | 'closed' = it.state
  const last: string | undefined = it.lastEventId
  const payload: TokenPayload = it.tokenPayload
  const exp: number = payload.exp
  it.addEventListener('reconnecting', (event) => {
    const attempt: number = event.detail.attempt
    const delayMs: number = event.detail.delayMs
    void [attempt, delayMs]
  })
  it.addEventListener('resumed', event => void (event.detail.lastEventId satisfies string))
  // @ts-expect-error: no such connection event
  it.addEventListener('reconected', () => {})
  const done = await it.return()
  void [state, last, exp, done.done]
}

export async function entryPoints(): Promise<void> {
  const it = await connect<ChatEvent, ChatRpc>({
    rpcUrl: 'http://localhost:8787/rpc',
    procedure: 'onMessage',
    url: 'ws://localhost:8787/chat-room',
    input: { tags: ['tag1'] },
    refreshTokenBeforeExpireInSeconds: 600,
    reconnect: { initialDelayMs: 100, maxAttempts: 10 },
    signal: new AbortController().signal,
  })
  for await (const { message } of it) void (message satisfies string)

  const fromAToken = await fromToken<ChatEvent, ChatRpc>(async () => 'token', {
    url: payload => `ws://localhost:8787/${payload.chn}`,
  })
  await fromAToken.routerClient.ping()

  // @ts-expect-error: `url` is required
  await connect({ rpcUrl: 'http://localhost:8787/rpc', procedure: 'onMessage' })

  try {
    await parseToken('x')
  }
  catch (error) {
    if (error instanceof DurableIteratorError) {
      const code: string = error.code
      const status: number | undefined = error.status
      void [code, status]
    }
  }
  const body: string = encodeBody({ at: new Date() })
  void decodeBody(body)
}

/** The docs' chat room as the oRPC client sees it: its events and its RPC methods. */
interface ChatRoom extends DurableIteratorObject<ChatEvent> {
  singleClient(...args: any[]): Client<Record<never, never>, { message: string }, void, Error>
  routerClient(...args: any[]): {
    ping: Client<Record<never, never>, undefined, string, Error>
    echo: Client<Record<never, never>, { text: string }, string, Error>
  }
}

/** The docs' client, with the plugin from this package and a typed router client. */
type AppClient = {
  onMessage: Client<Record<never, never>, { ttlSeconds?: number } | undefined, ClientDurableIterator<ChatRoom, 'singleClient' | 'routerClient'>, Error>
  sendMessage: Client<Record<never, never>, { message: string }, void, Error>
}

export async function dropIn(): Promise<void> {
  const link = new RPCLink({
    url: 'http://localhost:3000/rpc',
    plugins: [
      new DurableIteratorLinkPlugin({
        url: 'ws://localhost:3000/chat-room',
        refreshTokenBeforeExpireInSeconds: 10 * 60,
        interceptors: [
          onError(e => console.error(e)), // log error thrown from rpc calls
          async ({ next }) => next(),
        ],
      }),
    ],
  })
  const client: AppClient = createORPCClient(link)

  const controller = new AbortController()
  const iterator = await client.onMessage(undefined, { signal: controller.signal })
  for await (const { message } of iterator) {
    console.log('Received message:', message)
  }
  await iterator.singleClient({ message: 'Hello, world!' })
  await iterator.singleClient({ message: 'Hello, world!' }, { context: { retry: 3 } })
  const response: string = await iterator.routerClient.ping()
  const echoResponse: string = await iterator.routerClient.echo({ text: 'Hello' })
  await client.sendMessage({ message: 'Hello, world!' })
  await iterator.return()
  void [response, echoResponse]

  // @ts-expect-error: a misspelled method name through the oRPC client too
  await iterator.singleClint({ message: 'x' })

  // @ts-expect-error: the plugin needs a `url`
  void new DurableIteratorLinkPlugin({})
}
