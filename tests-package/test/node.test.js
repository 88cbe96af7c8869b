// The packed package, installed with npm, used from Node 20+ the way its README says.

import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'
import { packageDir } from '../lib/helpers.js'

const token = payload => `${JSON.stringify(payload)}.signature-not-checked-by-clients`

test('the main entry loads the wasm from the package directory and runs it', async () => {
  const mod = await import('durable-iterator-wasm')
  for (const name of ['connect', 'fromToken', 'initialize', 'parseToken']) {
    assert.equal(typeof mod[name], 'function', name)
  }
  await mod.initialize()
  const payload = await mod.parseToken(token({ chn: 'node-room', rpc: ['send'], iat: 1, exp: 2 }))
  assert.equal(payload.chn, 'node-room')
  assert.deepEqual(payload.rpc, ['send'])
})

test('errors from the wasm side arrive as DurableIteratorError with a code', async () => {
  const { parseToken, DurableIteratorError } = await import('durable-iterator-wasm')
  await assert.rejects(parseToken('no separator'), (error) => {
    assert.ok(error instanceof DurableIteratorError, String(error))
    assert.equal(typeof error.code, 'string')
    return true
  })
})

test('the oRPC entry loads next to @orpc/client', async () => {
  const { DurableIteratorLinkPlugin } = await import('durable-iterator-wasm/orpc')
  assert.equal(typeof DurableIteratorLinkPlugin, 'function')
  const plugin = new DurableIteratorLinkPlugin({ url: 'ws://127.0.0.1:9/unused' })
  assert.equal(typeof plugin.init, 'function')
})

test('only the exported entry points are reachable', async () => {
  await assert.rejects(import('durable-iterator-wasm/durable_iterator_wasm.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
  const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'))
  const exported = createRequire(import.meta.url)('durable-iterator-wasm/package.json')
  assert.equal(exported.version, manifest.version)
})
