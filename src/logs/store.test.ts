import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { formatLogLine, logRelease, MAX_LOG_LINES, type LogLine } from '../core/log-view.js'
import { RingBuffer } from './ring.js'
import { MAX_LINE_BYTES, splitLogText } from './split.js'
import { LogStore } from './store.js'

const APP = '0b6b5b4e-6f3c-4a8e-9a53-0f1f5d1f2a01'
const texts = (lines: LogLine[]) => lines.map((l) => l.text)

describe('RingBuffer', () => {
  test('keeps the newest items, oldest first', () => {
    const ring = new RingBuffer<number>(3)
    assert.deepEqual(ring.toArray(), [])
    for (const n of [1, 2]) ring.push(n)
    assert.deepEqual(ring.toArray(), [1, 2])
    for (const n of [3, 4, 5]) ring.push(n)
    assert.deepEqual(ring.toArray(), [3, 4, 5])
    assert.equal(ring.size, 3)
  })

  test('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5]) assert.throws(() => new RingBuffer(bad), RangeError)
  })
})

describe('splitLogText', () => {
  test('one line per line, whatever the line break', () => {
    assert.deepEqual(splitLogText('a\nb\r\nc\rd'), ['a', 'b', 'c', 'd'])
    assert.deepEqual(splitLogText('done\n'), ['done'])
    assert.deepEqual(splitLogText('a\n\nb'), ['a', '', 'b'])
    assert.deepEqual(splitLogText('\n'), [''])
    assert.deepEqual(splitLogText(''), [])
  })

  test('lines over 10 KB are cut into 10 KB lines', () => {
    const parts = splitLogText('x'.repeat(MAX_LINE_BYTES * 2 + 5))
    assert.deepEqual(
      parts.map((p) => p.length),
      [MAX_LINE_BYTES, MAX_LINE_BYTES, 5],
    )
    assert.deepEqual(splitLogText('y'.repeat(MAX_LINE_BYTES)), ['y'.repeat(MAX_LINE_BYTES)])
  })

  test('a cut never splits a multi-byte character', () => {
    // 'é' is 2 bytes: with one leading 'a' every 10 KB boundary falls inside a character.
    const text = `a${'é'.repeat(MAX_LINE_BYTES)}`
    const parts = splitLogText(text)
    assert.equal(parts.join(''), text)
    for (const p of parts) {
      assert.ok(Buffer.byteLength(p) <= MAX_LINE_BYTES)
      assert.ok(!p.includes('\uFFFD'))
    }
  })
})

describe('LogStore', () => {
  test('formats lines as Heroku does', () => {
    const logs = new LogStore()
    logs.append(APP, {
      source: 'heroku',
      dyno: 'web.1',
      text: 'State changed from starting to up',
      time: new Date('2026-01-01T00:00:00.123Z'),
    })
    const [line] = logs.recent(APP, { lines: 10 })
    assert.equal(
      formatLogLine(line!),
      '2026-01-01T00:00:00.123000+00:00 heroku[web.1]: State changed from starting to up',
    )
  })

  test('keeps the last 1,500 lines of each app', () => {
    const logs = new LogStore()
    for (let i = 1; i <= MAX_LOG_LINES + 200; i++) {
      logs.append(APP, { source: 'app', dyno: 'web.1', text: `line ${i}` })
    }
    logs.append('other-app', { source: 'app', dyno: 'web.1', text: 'elsewhere' })
    const all = logs.recent(APP, { lines: MAX_LOG_LINES })
    assert.equal(all.length, MAX_LOG_LINES)
    assert.equal(all[0]!.text, 'line 201')
    assert.equal(all.at(-1)!.text, `line ${MAX_LOG_LINES + 200}`)
    assert.deepEqual(texts(logs.recent(APP, { lines: 2 })), ['line 1699', 'line 1700'])
    assert.deepEqual(texts(logs.recent('other-app', { lines: 100 })), ['elsewhere'])
    assert.deepEqual(logs.recent('never-logged', { lines: 100 }), [])
  })

  test('multi-line text becomes one line per line, with increasing seq', () => {
    const logs = new LogStore()
    logs.append(APP, { source: 'app', dyno: 'web.1', text: 'Error: boom\n    at main\n' })
    const lines = logs.recent(APP, { lines: 10 })
    assert.deepEqual(texts(lines), ['Error: boom', '    at main'])
    assert.deepEqual(
      lines.map((l) => l.seq),
      [1, 2],
    )
  })

  test('filters as heroku logs does: process type, dyno, source', () => {
    const logs = new LogStore()
    const add = (source: 'app' | 'heroku', dyno: string) =>
      logs.append(APP, { source, dyno, text: `${source}:${dyno}` })
    add('app', 'web.1')
    add('app', 'web.2')
    add('app', 'worker.1')
    add('heroku', 'web.1')
    add('heroku', 'router')
    add('app', 'webhooks.1') // a type named like a prefix of web must not match `web`
    const pick = (filter: object, lines = 100) => texts(logs.recent(APP, { lines, ...filter }))
    assert.deepEqual(pick({ dyno: 'web' }), ['app:web.1', 'app:web.2', 'heroku:web.1'])
    assert.deepEqual(pick({ dyno: 'web.1' }), ['app:web.1', 'heroku:web.1'])
    assert.deepEqual(pick({ source: 'heroku' }), ['heroku:web.1', 'heroku:router'])
    assert.deepEqual(pick({ dyno: 'router', source: 'heroku' }), ['heroku:router'])
    assert.deepEqual(pick({ dyno: 'web', source: 'app' }), ['app:web.1', 'app:web.2'])
    // `lines` counts lines that pass the filter, the newest ones.
    assert.deepEqual(pick({ dyno: 'web' }, 1), ['heroku:web.1'])
    assert.deepEqual(pick({}, 0), [])
  })

  test('follow sees later matching lines until unsubscribed', () => {
    const logs = new LogStore()
    logs.append(APP, { source: 'app', dyno: 'web.1', text: 'before' })
    const seen: string[] = []
    const stop = logs.follow(APP, { dyno: 'web' }, (l) => seen.push(l.text))
    assert.equal(logs.followerCount(APP), 1)
    logs.append(APP, { source: 'app', dyno: 'web.1', text: 'one\ntwo' })
    logs.append(APP, { source: 'app', dyno: 'worker.1', text: 'not web' })
    stop()
    assert.equal(logs.followerCount(APP), 0)
    logs.append(APP, { source: 'app', dyno: 'web.1', text: 'after' })
    assert.deepEqual(seen, ['one', 'two'])
  })

  test('a follower that throws neither stops others nor the writer', () => {
    const failures: unknown[] = []
    const logs = new LogStore({ onError: (e) => failures.push(e) })
    logs.follow(APP, {}, () => {
      throw new Error('broken reader')
    })
    const seen: string[] = []
    logs.follow(APP, {}, (l) => seen.push(l.text))
    logs.append(APP, { source: 'app', dyno: 'web.1', text: 'hello' })
    assert.deepEqual(seen, ['hello'])
    assert.equal(failures.length, 1)
  })

  test('logRelease writes the heroku[api] lines of a release', () => {
    const logs = new LogStore()
    logRelease(logs, APP, { version: 3, description: 'Set FOO config vars' }, 'a@example.com')
    assert.deepEqual(
      logs.recent(APP, { lines: 10 }).map((l) => `${l.source}[${l.dyno}]: ${l.text}`),
      [
        'heroku[api]: Set FOO config vars by a@example.com',
        'heroku[api]: Release v3 created by a@example.com',
      ],
    )
  })
})

describe('LogStore with a journal directory', () => {
  const withDir = (run: (dir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'localspace-logs-'))
    try {
      run(dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  test('a new store over the same directory has the old history', () => {
    withDir((dir) => {
      const first = new LogStore({ dir })
      first.append(APP, { source: 'app', dyno: 'web.1', text: 'one\ntwo' })
      first.append(APP, { source: 'heroku', dyno: 'router', text: 'at=info method=GET path="/"' })
      first.close()
      // A torn line from a crash mid-write is skipped, not fatal.
      appendFileSync(join(dir, `${APP}.log`), '2026-01-01T00:00')
      const second = new LogStore({ dir })
      const lines = second.recent(APP, { lines: 10 })
      assert.deepEqual(texts(lines), ['one', 'two', 'at=info method=GET path="/"'])
      assert.equal(lines[2]!.source, 'heroku')
      assert.equal(lines[2]!.dyno, 'router')
      second.append(APP, { source: 'app', dyno: 'web.1', text: 'three' })
      assert.equal(second.recent(APP, { lines: 10 }).at(-1)!.seq, 4)
      second.close()
    })
  })

  test('the file is rewritten before it holds twice the kept lines', () => {
    withDir((dir) => {
      const logs = new LogStore({ dir, capacity: 10 })
      for (let i = 1; i <= 55; i++) logs.append(APP, { source: 'app', dyno: 'web.1', text: `${i}` })
      logs.close()
      const rows = readFileSync(join(dir, `${APP}.log`), 'utf8')
        .trim()
        .split('\n')
      assert.ok(rows.length <= 20, `${rows.length} lines in the file`)
      assert.ok(rows.at(-1)!.endsWith('app[web.1]: 55'))
      const again = new LogStore({ dir, capacity: 10 })
      assert.deepEqual(texts(again.recent(APP, { lines: 10 })), [
        '46',
        '47',
        '48',
        '49',
        '50',
        '51',
        '52',
        '53',
        '54',
        '55',
      ])
    })
  })

  test("a deleted app's log is forgotten in memory and on disk, and stays forgotten", () => {
    withDir((dir) => {
      const OTHER = '0b6b5b4e-6f3c-4a8e-9a53-0f1f5d1f2a02'
      const logs = new LogStore({ dir })
      logs.append(APP, { source: 'app', dyno: 'web.1', text: 'before' })
      logs.append(OTHER, { source: 'app', dyno: 'web.1', text: 'other' })
      logs.close()
      logs.forget(APP)
      logs.append(APP, { source: 'heroku', dyno: 'web.1', text: 'Stopping all processes' })
      logs.close()
      assert.deepEqual(logs.recent(APP, { lines: 5 }), [])
      assert.deepEqual(readdirSync(dir), [`${OTHER}.log`])
      // A restarted daemon forgets the journals of apps deleted while none ran.
      const again = new LogStore({ dir })
      again.forgetAllBut((id) => id !== OTHER)
      assert.deepEqual(readdirSync(dir), [])
      assert.deepEqual(again.recent(OTHER, { lines: 5 }), [])
    })
  })

  test('app ids that are not safe file names stay in memory only', () => {
    withDir((dir) => {
      const logs = new LogStore({ dir })
      logs.append('../escape', { source: 'app', dyno: 'web.1', text: 'kept in memory' })
      logs.close()
      assert.deepEqual(texts(logs.recent('../escape', { lines: 5 })), ['kept in memory'])
      assert.deepEqual(texts(new LogStore({ dir }).recent('../escape', { lines: 5 })), [])
    })
  })
})
