// The package's TypeScript types: types/usage.ts (the JS API and the drop-in) and
// types/contract-first.ts (the oRPC docs' contract-first code, TanStack Query over it) compiled
// with `tsc --noEmit --strict` against the built package, installed into a temporary
// node_modules so that its package.json `exports` (the `types` conditions) are what resolves
// `durable-iterator-wasm` and `durable-iterator-wasm/orpc`, under both Bundler and NodeNext
// resolution.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { packageDir, PROJECT_DIR } from '../lib/site.js'

const TSC = join(PROJECT_DIR, 'node_modules', 'typescript', 'bin', 'tsc')

describe('TypeScript types of the package', () => {
  let dir

  before(() => {
    const pkg = packageDir()
    if (!existsSync(join(pkg, 'package.json'))) {
      throw new Error(`${pkg} has no package.json: build the npm package with \`cargo xtask package\``)
    }
    dir = mkdtempSync(join(tmpdir(), 'durable-iterator-types-'))
    const modules = join(dir, 'node_modules')
    cpSync(pkg, join(modules, 'durable-iterator-wasm'), { recursive: true })
    for (const entry of readdirSync(join(PROJECT_DIR, 'node_modules'))) {
      if (entry.startsWith('.')) continue
      symlinkSync(join(PROJECT_DIR, 'node_modules', entry), join(modules, entry), 'dir')
    }
    cpSync(join(PROJECT_DIR, 'types'), dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }))
  })
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  function tsc(...args) {
    const result = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false', ...args], {
      cwd: dir,
      encoding: 'utf8',
    })
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() }
  }

  test('usage.ts and contract-first.ts type-check under --strict with Bundler resolution, and every @ts-expect-error is an error', () => {
    const { status, output } = tsc('--strict')
    assert.equal(output, '')
    assert.equal(status, 0)
  })

  test('the package\'s own .d.ts files check cleanly (no unresolved names hiding as any)', () => {
    // The pages' tsconfig uses skipLibCheck, which would also skip errors inside our
    // declarations: check those on their own, with the @orpc/* types they build on.
    const pkg = join(dir, 'node_modules', 'durable-iterator-wasm')
    const result = spawnSync(process.execPath, [TSC, '--noEmit', '--strict', '--pretty', 'false',
      '--skipDefaultLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom',
      join(pkg, 'index.d.ts'), join(pkg, 'orpc.d.ts')], { cwd: dir, encoding: 'utf8' })
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '')
    assert.equal(result.status, 0)
  })

  test('usage.ts and contract-first.ts type-check under --strict with NodeNext resolution', () => {
    const { status, output } = tsc('--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext')
    assert.equal(output, '')
    assert.equal(status, 0)
  })

  test('await using type-checks where the lib knows Symbol.asyncDispose (ESNext)', () => {
    const result = spawnSync(process.execPath, [TSC, '--noEmit', '--strict', '--pretty', 'false', '--skipLibCheck',
      '--module', 'esnext', '--moduleResolution', 'bundler', '--target', 'es2022', '--lib', 'esnext,dom',
      join(dir, 'disposable.ts')], { cwd: dir, encoding: 'utf8' })
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '')
    assert.equal(result.status, 0)
  })

  test('a misspelled rpc name without @ts-expect-error fails the compile', () => {
    const file = join(dir, 'misspelled.ts')
    writeFileSync(file, [
      "import type { DurableIterator } from 'durable-iterator-wasm'",
      'type Rpc = { routerClient: { echo: (input: { text: string }) => string } }',
      'export const call = (it: DurableIterator<{ message: string }, Rpc>) => it.routerClinet.echo({ text: "x" })',
      '',
    ].join('\n'))
    const result = spawnSync(process.execPath, [TSC, '--noEmit', '--strict', '--pretty', 'false', '--skipLibCheck',
      '--module', 'esnext', '--moduleResolution', 'bundler', '--target', 'es2022', file], { cwd: dir, encoding: 'utf8' })
    assert.notEqual(result.status, 0)
    assert.match(result.stdout, /misspelled\.ts\(3,[0-9]+\): error TS2551: Property 'routerClinet' does not exist/)
  })
})
