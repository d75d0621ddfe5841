import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LineCutter, MAX_LINE_BYTES } from './split.js'

/** Feeds `input` to a LineCutter in chunks of `chunkBytes`; returns the lines and the time. */
function cut(input: Buffer, chunkBytes: number, maxBytes = MAX_LINE_BYTES) {
  const lines: string[] = []
  const cutter = new LineCutter((line) => lines.push(line), maxBytes)
  const started = process.hrtime.bigint()
  for (let i = 0; i < input.length; i += chunkBytes) cutter.push(input.subarray(i, i + chunkBytes))
  cutter.flush()
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  return { lines, ms }
}

const bytesOf = (line: string) => Buffer.byteLength(line)

/** The bytes `Buffer#indexOf` was asked to search while `run` ran (the cutter's only scan). */
function countSearchedBytes(run: () => void): number {
  const original = Buffer.prototype.indexOf
  let searched = 0
  function counting(this: Buffer, ...args: unknown[]): number {
    searched += this.length
    return Reflect.apply<Buffer, unknown[], number>(original, this, args)
  }
  Buffer.prototype.indexOf = counting as typeof original
  try {
    run()
  } finally {
    Buffer.prototype.indexOf = original
  }
  return searched
}

describe('LineCutter', () => {
  test('a line per newline, whatever the chunks; the last line without one at flush', () => {
    const input = Buffer.from('one\ntwo\r\n\nthree')
    for (const size of [1, 2, 3, 5, 100]) {
      assert.deepEqual(cut(input, size).lines, ['one', 'two\r', '', 'three'], `chunks of ${size}`)
    }
  })

  test('a line longer than the limit is cut into lines of the limit, nothing lost', () => {
    const input = Buffer.from('x'.repeat(MAX_LINE_BYTES * 2 + 5) + '\nnext\n')
    const { lines } = cut(input, 4096)
    assert.deepEqual(lines.map(bytesOf), [MAX_LINE_BYTES, MAX_LINE_BYTES, 5, 4])
    // A newline right at the limit ends a full line: no empty line after it.
    const exact = cut(Buffer.from('y'.repeat(MAX_LINE_BYTES) + '\nz'), 1000).lines
    assert.deepEqual(exact.map(bytesOf), [MAX_LINE_BYTES, 1])
  })

  test('a cut never splits a UTF-8 character, also when a chunk ends inside one', () => {
    for (const char of ['é', '€', '😀']) {
      const input = Buffer.from(char.repeat(50) + 'a' + char.repeat(50))
      for (const chunk of [1, 3, 7, 64]) {
        const { lines } = cut(input, chunk, 16)
        assert.equal(lines.join(''), input.toString(), `${char} in chunks of ${chunk}`)
        for (const line of lines.slice(0, -1)) {
          assert.ok(bytesOf(line) <= 16 && bytesOf(line) >= 13, `${line} (${bytesOf(line)})`)
          assert.ok(!line.includes('\uFFFD'), `no broken character in ${line}`)
        }
      }
    }
  })

  test('invalid UTF-8 is cut at the limit all the same (a line is never empty)', () => {
    const { lines } = cut(Buffer.alloc(100, 0x80), 10, 16)
    // Each byte decodes to U+FFFD: 16 of them a line, 4 left for the last.
    assert.deepEqual(
      lines.map((l) => l.length),
      [16, 16, 16, 16, 16, 16, 4],
    )
  })

  test('24 MB without a newline: cut lines, each byte searched once', () => {
    const mb = (n: number) => Buffer.alloc(n * 1024 * 1024, 'a')
    const big = cut(mb(24), 64 * 1024)
    assert.equal(big.lines.length, Math.ceil((24 * 1024 * 1024) / MAX_LINE_BYTES))
    assert.ok(big.lines.every((l) => l.length <= MAX_LINE_BYTES))
    assert.equal(
      big.lines.reduce((n, l) => n + l.length, 0),
      24 * 1024 * 1024,
    )
    // Also as one chunk: the search for a newline never looks past the room in the line.
    assert.equal(cut(mb(24), 24 * 1024 * 1024).lines.length, big.lines.length)
    // Linear: every newline search looks only within the room left in the line, so the bytes
    // searched add up to the input (plus one byte per cut line). Counted, not timed: a busy
    // machine's timings say nothing about a millisecond's work.
    const searched = countSearchedBytes(() => cut(mb(24), 24 * 1024 * 1024))
    assert.ok(
      searched <= 24 * 1024 * 1024 + big.lines.length,
      `${searched} bytes searched for 24 MB of input`,
    )
  })

  test('holds back at most the limit between chunks', () => {
    const cutter = new LineCutter(() => undefined, 100)
    for (let i = 0; i < 1000; i++) {
      cutter.push(Buffer.from('abcdefg'))
      assert.ok(cutter.pendingBytes <= 100)
    }
  })
})
