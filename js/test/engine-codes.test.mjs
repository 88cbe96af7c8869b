// The input kinds and output ops of js/engine-codes.js are the numbers of js-engine/src/kinds.rs.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import * as codes from '../engine-codes.js'
import { CODES, toError } from '../errors.js'

const kinds = readFileSync(new URL('../../js-engine/src/kinds.rs', import.meta.url), 'utf8')

/** `Name = 3,` members of the Rust enum `name`, as `{ NAME: 3 }`. */
function members(name) {
  const body = new RegExp(`pub enum ${name} \\{([^}]*)\\}`).exec(kinds)?.[1]
  assert.ok(body, `enum ${name} in kinds.rs`)
  const entries = [...body.matchAll(/^\s*(\w+) = (\d+),/gm)]
    .map(([, member, value]) => [member.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase(), Number(value)])
  return Object.fromEntries(entries)
}

test('input kinds and output ops agree with js-engine/src/kinds.rs', () => {
  const rust = { ...members('InputKind'), ...members('OutputOp') }
  assert.ok(Object.keys(rust).length >= 29, Object.keys(rust).join(' '))
  assert.deepEqual({ ...codes }, rust)
})

test('error codes: js/errors.js names the numbers of js-engine/src/kinds.rs in their order', () => {
  const rust = members('ErrorCode')
  assert.ok(Object.keys(rust).length >= 13, Object.keys(rust).join(' '))
  assert.deepEqual(Object.fromEntries(CODES.map((name, number) => [name, number])), rust)
  for (const [name, number] of Object.entries(rust)) {
    if (name !== 'REJECTED') assert.equal(toError([number]).code, name)
  }
  assert.equal(toError([rust.REJECTED, 403]).code, 'FORBIDDEN')
})

test('the engine\'s reason for an undecodable frame is the one the driver replaces with its own', () => {
  const core = readFileSync(new URL('../../js-engine/src/core.rs', import.meta.url), 'utf8')
  const driver = readFileSync(new URL('../driver.js', import.meta.url), 'utf8')
  const reason = /const NOT_A_PEER_MESSAGE = '([^']+)'/.exec(driver)?.[1]
  assert.ok(reason, 'NOT_A_PEER_MESSAGE in driver.js')
  assert.ok(core.includes(`"${reason}"`), `js-engine/src/core.rs words undecodable frames "${reason}"`)
})
