// `await using` on a durable iterator (its `[Symbol.asyncDispose]` stops it), compiled by
// test/types.test.js with a TypeScript lib that knows `Symbol.asyncDispose` (ESNext); usage.ts
// covers the ES2022 lib, where the method is simply not declared.

import { connect, fromToken } from 'durable-iterator-wasm'

export async function scoped(): Promise<string[]> {
  const seen: string[] = []
  {
    await using it = await connect<{ message: string }, { routerClient: { ping: () => string } }>({
      rpcUrl: 'http://localhost:8787/rpc',
      procedure: 'onMessage',
      url: 'ws://localhost:8787/chat-room',
    })
    seen.push(await it.routerClient.ping())
    for await (const { message } of it) seen.push(message)
  }
  await using other = await fromToken('token', { url: 'ws://localhost:8787/chat-room' })
  const dispose: () => Promise<void> = other[Symbol.asyncDispose]
  void dispose
  return seen
}
