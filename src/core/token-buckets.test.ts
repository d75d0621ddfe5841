import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TokenBuckets } from './token-buckets.js'

test('a bucket allows its burst, then refuses until tokens come back', () => {
  let now = 0
  const buckets = new TokenBuckets({ burst: 3, perMinute: 6 }, 100, () => now)
  assert.deepEqual(
    [1, 2, 3, 4].map(() => buckets.take('a')),
    [true, true, true, false],
  )
  assert.equal(buckets.retryAfter('a'), 10) // 6 a minute: one every 10 s
  assert.equal(buckets.take('b'), true, 'another key has its own bucket')
  now += 9_000
  assert.equal(buckets.take('a'), false)
  now += 1_000
  assert.equal(buckets.take('a'), true)
  assert.equal(buckets.take('a'), false)
  now += 3_600_000 // a long quiet period refills up to the burst only
  assert.deepEqual(
    [1, 2, 3, 4].map(() => buckets.take('a')),
    [true, true, true, false],
  )
})

test('the table never holds more than maxKeys buckets; the least recently used goes', () => {
  const now = 0
  const buckets = new TokenBuckets({ burst: 1, perMinute: 1 }, 3, () => now)
  for (const key of ['a', 'b', 'c']) assert.equal(buckets.take(key), true)
  assert.equal(buckets.take('a'), false) // a is now the most recently used
  for (let i = 0; i < 1000; i++) buckets.take(`spray-${i}`)
  assert.equal(buckets.size, 3)
  assert.equal(buckets.retryAfter('a'), 0, 'a was forgotten once newer keys pushed it out')
  buckets.take('x')
  buckets.take('y')
  assert.equal(buckets.take('y'), false)
  buckets.take('z')
  assert.equal(buckets.take('y'), false, 'a key in use stays while others come and go')
})
