import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { MAX_LINE_BYTES } from '../logs/split.js'
import {
  droppedLine,
  FileFollower,
  type FollowOptions,
  FileTail,
  outputTails,
  TRUNCATE_AT,
} from './file-tail.js'

const dir = mkdtempSync(join(tmpdir(), 'file-tail-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = (content: string | Buffer = '') => {
  const path = join(dir, `out-${++n}.log`)
  writeFileSync(path, content)
  return path
}

/** Tails `path` until it is read to its end; returns the lines and the time it took. */
async function tailAll(path: string, offset = 0, options: FollowOptions = {}) {
  const lines: string[] = []
  const started = process.hrtime.bigint()
  const tail = new FileTail(path, (line) => lines.push(line), offset, options)
  await tail.close()
  return { lines, ms: Number(process.hrtime.bigint() - started) / 1e6, offset: tail.offset }
}

describe('FileTail', () => {
  test('lines of a file, the last one at close; offset counts complete lines only', async () => {
    const path = file('a\nb\nc')
    const lines: string[] = []
    const tail = new FileTail(path, (line) => lines.push(line))
    await tail.read()
    assert.deepEqual(lines, ['a', 'b'])
    assert.equal(tail.offset, 4)
    tail.stop()
    assert.deepEqual((await tailAll(path, 4)).lines, ['c'])
  })

  test('24 MB without a newline: lines cut at the limit, in linear time', async () => {
    const small = file(Buffer.alloc(1024 * 1024, 'x'))
    const big = file(Buffer.alloc(24 * 1024 * 1024, 'x'))
    // All of it read (no truncation, which would drop most of a file this far ahead).
    const whole = { truncateAt: Infinity }
    const runs = await Promise.all([1, 2, 3].map(() => tailAll(small, 0, whole)))
    const one = Math.min(...runs.map((r) => r.ms))
    const { lines, ms } = await tailAll(big, 0, whole)
    assert.equal(lines.length, Math.ceil((24 * 1024 * 1024) / MAX_LINE_BYTES))
    assert.ok(lines.every((l) => l.length <= MAX_LINE_BYTES))
    // Before: the unfinished line was kept as a string, joined and split again on every read
    // (24 s of CPU for this file). Linear: about 24 times the 1 MB run.
    assert.ok(ms < 24 * 4 * one + 200, `1 MB: ${one} ms, 24 MB: ${ms} ms`)
  })

  test('a file read past truncateAt is truncated; the writer goes on; nothing is lost', async () => {
    const path = file()
    const lines: string[] = []
    let truncations = 0
    const tail = new FileTail(path, (line) => lines.push(line), 0, {
      truncateAt: 1000,
      truncated: () => truncations++,
    })
    let largest = 0
    for (let i = 0; i < 200; i++) {
      // As a dyno writes: O_APPEND, so a write after a truncation starts at the new end.
      appendFileSync(path, `line ${i} ${'.'.repeat(50)}\n`)
      await tail.read()
      largest = Math.max(largest, statSync(path).size)
    }
    await tail.close()
    assert.deepEqual(
      lines,
      Array.from({ length: 200 }, (_, i) => `line ${i} ${'.'.repeat(50)}`),
    )
    assert.ok(truncations >= 10, `${truncations} truncations`)
    assert.ok(largest < 1000 + 100, `the file reached ${largest} bytes`)
    assert.ok(tail.offset < 1000)
  })

  test('a writer faster than the reader: the file is truncated at overflowAt, the loss counted', async () => {
    const path = file('a'.repeat(3000))
    let total = 3000
    let dropped = 0
    let largest = 0
    const read: Buffer[] = []
    // Whenever the reader gets a chunk (or truncates), the writer has appended more than that.
    const write = () => {
      if (total >= 60_000) return
      appendFileSync(path, 'b'.repeat(3000))
      total += 3000
      largest = Math.max(largest, statSync(path).size)
    }
    const follower = new FileFollower(
      path,
      (chunk) => {
        read.push(Buffer.from(chunk))
        write()
      },
      {
        truncateAt: 1000,
        overflowAt: 8000,
        truncated: (n) => {
          dropped += n
          write()
        },
      },
    )
    await follower.close()
    assert.equal(total, 60_000)
    assert.ok(dropped > 0, 'some output was dropped')
    assert.equal(Buffer.concat(read).length + dropped, total, 'every byte read or counted')
    assert.ok(largest <= 8000 + 3000, `the file reached ${largest} bytes`)
  })

  test('dropped output becomes an Error L10 line in the log', async () => {
    const path = file()
    const lines: string[] = []
    const notices: string[] = []
    let saves = 0
    const [out, err] = outputTails(
      { stdout: path, stderr: file() },
      { stdout: 0, stderr: 0 },
      { line: (l) => lines.push(l), notice: (l) => notices.push(l), save: () => saves++ },
    )
    appendFileSync(path, 'x'.repeat(TRUNCATE_AT) + '\n')
    await out.read()
    assert.equal(saves, 1, 'the offsets are saved after a truncation')
    assert.deepEqual(notices, [], 'nothing was dropped')
    assert.equal(
      droppedLine(123),
      'Error L10 (output buffer overflow): 123 bytes of output dropped',
    )
    await Promise.all([out.close(), err.close()])
  })

  test('a line in progress at a truncation goes out first, cut there', async () => {
    const path = file('x'.repeat(30))
    const lines: string[] = []
    const tail = new FileTail(path, (line) => lines.push(line), 0, { truncateAt: 10 })
    await tail.read()
    appendFileSync(path, 'y\n')
    await tail.close()
    assert.deepEqual(lines, ['x'.repeat(30), 'y'])
    assert.equal(statSync(path).size, 2, 'only what came after the truncation')
  })

  test('resumes from 0 when the file is shorter than the saved offset (truncated since)', async () => {
    const path = file('new\n')
    assert.deepEqual((await tailAll(path, 5000)).lines, ['new'])
  })
})

describe('FileFollower', () => {
  test('hands over raw bytes, a prompt without a newline too', async () => {
    const path = file('Password: ')
    const chunks: Buffer[] = []
    const follower = new FileFollower(path, (c) => chunks.push(Buffer.from(c)))
    await follower.close()
    assert.equal(Buffer.concat(chunks).toString(), 'Password: ')
  })
})
