// The oRPC docs' Durable Iterator "Contract First" section and client usage, with one change:
// the module specifiers `@orpc/experimental-durable-iterator` and
// `@orpc/experimental-durable-iterator/client` read `durable-iterator-wasm/orpc`. Compiled by
// test/types.test.js under `tsc --strict`; each `@ts-expect-error` line must be an error (tsc
// reports an unused directive), so misuse that type-checks fails the test.

import type { ContractRouterClient } from '@orpc/contract'
import { oc, type } from '@orpc/contract'
import type { ClientDurableIterator } from 'durable-iterator-wasm/orpc'
import type { DurableIteratorObject } from 'durable-iterator-wasm/orpc'
import { z } from 'zod'

import { createORPCClient, ORPCError, safe } from '@orpc/client'
import { createTanstackQueryUtils } from '@orpc/tanstack-query'
import { QueryObserver, type QueryClient } from '@tanstack/query-core'
import { RPCLink } from '@orpc/client/fetch'
import {
  DurableIteratorLinkPlugin,
  getClientDurableIteratorToken,
  type ClientDurableIteratorRpc,
  type InferDurableIteratorObjectRPC,
} from 'durable-iterator-wasm/orpc'

// --- the docs' "Contract First" section ---

export const publishMessageContract = oc.input(z.object({ message: z.string() }))

export interface ChatRoom extends DurableIteratorObject<{ message: string }> {
  publishMessage(...args: any[]): ContractRouterClient<typeof publishMessageContract>
}

export const contract = {
  onMessage: oc.output(type<ClientDurableIterator<ChatRoom, 'publishMessage'>>()),
}

// --- the docs' "Client-Side Customization" ---

declare module 'durable-iterator-wasm/orpc' {
  interface ClientDurableIteratorRpcContext {
    // Custom client context
    traceId?: string
  }
}

const link = new RPCLink({
  url: 'http://localhost:3000/rpc',
  plugins: [
    new DurableIteratorLinkPlugin({
      url: 'ws://localhost:3000/chat-room',
      customJsonSerializers: [], // Custom JSON serializers
      interceptors: [], // Link interceptors
      plugins: [], // Link plugins
    }),
  ],
})

const client: ContractRouterClient<typeof contract> = createORPCClient(link)

// --- the docs' client usage over the contract ---

export async function usage(): Promise<void> {
  const controller = new AbortController()
  const iterator = await client.onMessage(undefined, { signal: controller.signal })

  for await (const { message } of iterator) {
    console.log('Received message:', message satisfies string)
  }

  await iterator.publishMessage({ message: 'Hello, world!' })
  await iterator.publishMessage({ message: 'Hello, world!' }, { context: { retry: 3 } })
  await iterator.publishMessage({ message: 'traced' }, { context: { retry: 3, retryDelay: 500, traceId: 'abc' } })
  await iterator.return()

  const token: string | undefined = getClientDurableIteratorToken(iterator)
  void token

  // Calls reject with any thrown error (oRPC's `ThrowableError`), ORPCError among them.
  const [error, data] = await safe(iterator.publishMessage({ message: 'x' }))
  if (error instanceof ORPCError) {
    const code: string = error.code
    void code
  }
  void data
}

// --- misuse: each line must fail to type-check ---

/** An object with a second RPC method that the contract's tokens do not grant. */
interface AdminRoom extends DurableIteratorObject<{ message: string, at: Date }> {
  publishMessage(...args: any[]): ContractRouterClient<typeof publishMessageContract>
  kick(...args: any[]): ContractRouterClient<typeof kickContract>
  notRpc(): string
  /** Shaped like an RPC method, but the iterator's own `next` wins: never an RPC name. */
  next(...args: any[]): ContractRouterClient<typeof kickContract>
}

const kickContract = oc.input(z.object({ user: z.string() })).output(z.object({ kicked: z.boolean() }))

export async function misuse(it: ClientDurableIterator<AdminRoom, 'publishMessage'>): Promise<void> {
  // @ts-expect-error: `kick` is an RPC method of the object but not granted by this iterator
  await it.kick({ user: 'bob' })
  // @ts-expect-error: wrong input type
  await it.publishMessage({ message: 42 })
  // @ts-expect-error: input field misspelled
  await it.publishMessage({ mesage: 'x' })
  // @ts-expect-error: the input is required
  await it.publishMessage()
  // @ts-expect-error: `retry` is a number (or a function giving one)
  await it.publishMessage({ message: 'x' }, { context: { retry: 'three' } })
  // @ts-expect-error: the augmented `traceId` is a string
  await it.publishMessage({ message: 'x' }, { context: { traceId: 1 } })

  for await (const event of it) {
    const at: Date = event.at
    // @ts-expect-error: the events have no `mesage`
    void event.mesage
    // @ts-expect-error: `message` is a string
    const wrong: number = event.message
    void [at, wrong]
  }
}

export function misuseTypes(): void {
  // @ts-expect-error: `notRpc` does not return an oRPC client, so no token can grant it
  type NotGranted = ClientDurableIterator<AdminRoom, 'notRpc'>
  // @ts-expect-error: no such method
  type Unknown = ClientDurableIterator<AdminRoom, 'publish'>

  const names: InferDurableIteratorObjectRPC<AdminRoom>[] = ['publishMessage', 'kick']
  // @ts-expect-error: iterator members are never RPC names
  const iteratorMember: InferDurableIteratorObjectRPC<AdminRoom> = 'next'

  type Kick = ClientDurableIteratorRpc<ContractRouterClient<typeof kickContract>>
  const kick = async (call: Kick) => {
    const { kicked }: { kicked: boolean } = await call({ user: 'bob' }, { context: { retry: 1 } })
    // @ts-expect-error: the output has no `banned`
    void (await call({ user: 'bob' })).banned
    return kicked
  }
  void [names, iteratorMember, kick]
}

// --- the contract's iterator through oRPC's TanStack Query utils keeps its event type ---

export function tanstackQuery(queryClient: QueryClient): void {
  const orpc = createTanstackQueryUtils(client)
  const streamed = new QueryObserver(queryClient, orpc.onMessage.experimental_streamedOptions())
  const all: Array<{ message: string }> | undefined = streamed.getCurrentResult().data
  const live = new QueryObserver(queryClient, orpc.onMessage.experimental_liveOptions())
  const latest: { message: string } | undefined = live.getCurrentResult().data
  // @ts-expect-error: the streamed data is the events, not one event
  const notOne: { message: string } | undefined = streamed.getCurrentResult().data
  // @ts-expect-error: the events have no `text`
  void live.getCurrentResult().data?.text
  void [all, latest, notOne]
}

// --- a typed link context, as `new DurableIteratorLinkPlugin<T>` takes it upstream ---

interface AppContext { tenant?: string }

export function typedContext(): void {
  const typed = new RPCLink<AppContext>({
    url: 'http://localhost:3000/rpc',
    plugins: [
      new DurableIteratorLinkPlugin<AppContext>({
        url: (payload, { context, path }) => `ws://localhost:3000/${context.tenant ?? payload.chn}/${path.join('.')}`,
        refreshTokenBeforeExpireInSeconds: async (_payload, { context }) => (context.tenant ? 300 : 600),
      }),
    ],
  })
  void typed
  // @ts-expect-error: the link's context has no `tenantt`
  void new DurableIteratorLinkPlugin<AppContext>({ url: (_payload, { context }) => context.tenantt })
}
