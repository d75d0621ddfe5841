import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { txtHoldsToken } from './domain-verifier.js'

describe('txtHoldsToken', () => {
  const token = 'a'.repeat(32)

  test('finds the token among other records, also split into character-strings', () => {
    assert.equal(txtHoldsToken([['v=spf1 -all'], [token]], token), true)
    assert.equal(txtHoldsToken([['a'.repeat(20), 'a'.repeat(12)]], token), true)
  })

  test('a record must be the token exactly', () => {
    assert.equal(txtHoldsToken([], token), false)
    assert.equal(txtHoldsToken([[`${token} `]], token), false)
    assert.equal(txtHoldsToken([[`x${token}`]], token), false)
    assert.equal(txtHoldsToken([[token.toUpperCase()]], token), false)
  })

  test('reads a bounded part of the answer: the first 64 records, none over 1024 characters', () => {
    const filler = Array.from({ length: 64 }, (_, i) => [`record ${i}`])
    assert.equal(txtHoldsToken([...filler.slice(1), [token]], token), true)
    assert.equal(txtHoldsToken([...filler, [token]], token), false)
    const long = Array.from({ length: 5 }, () => 'b'.repeat(255))
    assert.equal(txtHoldsToken([long], long.join('')), false)
  })
})
