// A Vite app with no configuration that uses the package as an application would: both
// entry points, and the wasm loaded from where the package puts it.
import { initialize, parseToken } from 'durable-iterator-wasm'
import { DurableIteratorLinkPlugin } from 'durable-iterator-wasm/orpc'

const result = document.getElementById('result')

async function run() {
  await initialize()
  const payload = await parseToken(`${JSON.stringify({ chn: 'vite-room', iat: 1, exp: 2 })}.sig`)
  if (typeof DurableIteratorLinkPlugin !== 'function') throw new Error('no DurableIteratorLinkPlugin')
  return `loaded ${payload.chn}`
}

run().then(
  (text) => { result.textContent = text },
  (error) => { result.textContent = `error: ${error?.stack ?? error}` },
)
