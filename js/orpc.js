// Drop-in replacement for `DurableIteratorLinkPlugin` of
// `@orpc/experimental-durable-iterator/client`: the same options, the same place in
// `new RPCLink({ plugins: [...] })`, the same iterator-with-RPC-methods result, driven by the
// wasm client (faster recovery, exactly-once delivery, auth-aware reconnects).

import { ORPCError } from '@orpc/client'
import { DurableIteratorError, fromToken, MAP_ERROR, parseToken, resolveValue } from './index.js'

const HEADER_KEY = 'x-orpc-durable-iterator'
const HEADER_VALUE = '1'

// Iterators this module made: the only values whose token getClientDurableIteratorToken reveals.
const ours = new WeakSet()

/**
 * The token in use by `client` when it is a durable iterator from the plugin, else `undefined`.
 * @param {unknown} client
 */
export function getClientDurableIteratorToken(client) {
  return ours.has(client) ? client.token : undefined
}

function rpcErrorToORPC(error) {
  if (!(error instanceof DurableIteratorError) || error.status === undefined) return error
  return new ORPCError(error.code, {
    status: error.status,
    message: error.message,
    data: error.data,
    defined: error.defined,
    cause: error,
  })
}

/**
 * Turns durable iterator outputs of an oRPC `RPCLink` into live iterators.
 * @see https://orpc.dev/docs/integrations/durable-iterator
 */
export class DurableIteratorLinkPlugin {
  /** Runs before (modifies results after) the retry plugin, as upstream does. */
  order = 1_500_000

  #contextKey = Symbol('durable-iterator-wasm:link-context')
  #options

  /** @param {import('./orpc.d.ts').DurableIteratorLinkPluginOptions} options */
  constructor(options) {
    if (options?.url === undefined) {
      throw new DurableIteratorError('INVALID_OPTION', 'DurableIteratorLinkPlugin needs a `url`')
    }
    this.#options = options
  }

  init(linkOptions) {
    linkOptions.interceptors ??= []
    linkOptions.clientInterceptors ??= []

    linkOptions.interceptors.push(async (call) => {
      const marker = {}
      const next = () => call.next({ ...call, context: { [this.#contextKey]: marker, ...call.context } })
      const output = await next()
      if (!marker.durable) return output
      call.signal?.throwIfAborted()
      return this.#start(call, output, next)
    })

    linkOptions.clientInterceptors.push(async (request) => {
      const marker = request.context[this.#contextKey]
      const response = await request.next()
      if (marker) marker.durable = response.headers[HEADER_KEY] === HEADER_VALUE
      return response
    })
  }

  async #start(call, firstOutput, next) {
    const options = this.#options
    const procedure = call.path.join('.')
    const validate = async (output) => {
      if (typeof output !== 'string') {
        throw new DurableIteratorError('INVALID_TOKEN', `Expected valid token for procedure ${procedure}`)
      }
      try {
        return { token: output, payload: await parseToken(output) }
      }
      catch (cause) {
        throw new DurableIteratorError('INVALID_TOKEN', `Expected valid token for procedure ${procedure}`, { cause })
      }
    }

    const first = await validate(firstOutput)
    // The URL option may be async: resolve it for each token before the engine needs it.
    let url = String(await resolveValue(options.url, first.payload, call))
    const before = Number(await resolveValue(options.refreshTokenBeforeExpireInSeconds, first.payload, call))
    const delay = Number(await resolveValue(options.refreshTokenDelayInSeconds, first.payload, call) ?? 2)
    const clientId = options.createId ? String(await options.createId(first.payload, call)) : undefined

    // Plugins of the inner link contribute their interceptors around RPC calls.
    const inner = { interceptors: [...(options.interceptors ?? [])], clientInterceptors: [] }
    for (const plugin of [...(options.plugins ?? [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0))) {
      plugin.init?.(inner)
    }

    let pendingFirst = first.token
    const iterator = await fromToken(async () => {
      if (pendingFirst !== undefined) {
        const token = pendingFirst
        pendingFirst = undefined
        return token
      }
      const fresh = await validate(await next())
      url = String(await resolveValue(options.url, fresh.payload, call))
      return fresh.token
    }, {
      ...options,
      url: () => url,
      clientId,
      lastEventId: call.lastEventId,
      signal: call.signal,
      refreshTokenBeforeExpireInSeconds: Number.isFinite(before) && before >= 0 ? before : undefined,
      refreshTokenDelayInSeconds: Number.isFinite(delay) && delay >= 0 ? delay : 2,
      interceptors: inner.interceptors,
      customJsonSerializers: options.customJsonSerializers ?? [],
      [MAP_ERROR]: rpcErrorToORPC,
    })
    ours.add(iterator)
    return iterator
  }
}
