import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { LogLine } from '../core/log-view.js'
import { MAX_LINE_BYTES } from './split.js'
import {
  octetFrame,
  parseSyslogMessage,
  PRI_INFO,
  readOctetFrames,
  syslogFrames,
  type SyslogFormat,
} from './syslog.js'

const LINE: LogLine = {
  seq: 1,
  time: '2026-01-01T00:00:00.123000+00:00',
  source: 'app',
  dyno: 'web.1',
  text: 'listening on 5000',
}
const HTTPS: SyslogFormat = { hostname: 'host', style: 'logplex' }
const SYSLOG: SyslogFormat = {
  hostname: 'd.0b6b5b4e-6f3c-4a8e-9a53-0f1f5d1f2a01',
  style: 'rfc5424',
}

describe('syslog framing', () => {
  test('logplex-1: <len> <190>1 <time> host <source> <dyno> - <msg>, newline counted', () => {
    const [frame, ...more] = syslogFrames(LINE, HTTPS)
    assert.deepEqual(more, [])
    const message = '<190>1 2026-01-01T00:00:00.123000+00:00 host app web.1 - listening on 5000\n'
    assert.equal(frame, `${Buffer.byteLength(message)} ${message}`)
    assert.equal(PRI_INFO, 190) // local7.info
  })

  test('syslog drains: the token as HOSTNAME and - for STRUCTURED-DATA (RFC 5424)', () => {
    const [frame] = syslogFrames({ ...LINE, source: 'heroku', dyno: 'router' }, SYSLOG)
    const { messages } = readOctetFrames(Buffer.from(frame!))
    assert.equal(
      messages[0],
      `<190>1 2026-01-01T00:00:00.123000+00:00 ${SYSLOG.hostname} heroku router - - listening on 5000\n`,
    )
    const parsed = parseSyslogMessage(messages[0], 'rfc5424')
    assert.deepEqual(parsed, {
      pri: 190,
      time: LINE.time,
      hostname: SYSLOG.hostname,
      appName: 'heroku',
      procId: 'router',
      msgId: '-',
      text: 'listening on 5000',
    })
  })

  test('the octet count is of UTF-8 bytes, not characters', () => {
    const frame = octetFrame('héllo ✓\n')
    assert.equal(frame, '11 héllo ✓\n')
    const [f] = syslogFrames({ ...LINE, text: '✓✓✓' }, HTTPS)
    const count = Number(f!.split(' ')[0])
    assert.equal(count, Buffer.byteLength(f!.slice(f!.indexOf(' ') + 1)))
  })

  test('an empty line is still one message; header fields never hold spaces', () => {
    const [frame] = syslogFrames({ ...LINE, text: '', dyno: 'run 1' }, HTTPS)
    const parsed = parseSyslogMessage(readOctetFrames(Buffer.from(frame!)).messages[0]!, 'logplex')
    assert.equal(parsed?.procId, 'run1')
    assert.equal(parsed?.text, '')
  })

  test('text over 10 KB becomes several messages of at most 10 KB of text', () => {
    const text = `${'x'.repeat(MAX_LINE_BYTES)}${'é'.repeat(100)}`
    const frames = syslogFrames({ ...LINE, text }, HTTPS)
    assert.equal(frames.length, 2)
    const texts = readOctetFrames(Buffer.from(frames.join(''))).messages.map(
      (m) => parseSyslogMessage(m, 'logplex')!.text,
    )
    assert.deepEqual(texts, ['x'.repeat(MAX_LINE_BYTES), 'é'.repeat(100)])
    for (const t of texts) assert.ok(Buffer.byteLength(t) <= MAX_LINE_BYTES)
  })

  test('readOctetFrames keeps an incomplete frame for the next chunk', () => {
    const all = Buffer.from(
      [LINE, { ...LINE, text: 'ünïcode' }, { ...LINE, text: 'three' }]
        .flatMap((l) => syslogFrames(l, HTTPS))
        .join(''),
    )
    const received: string[] = []
    let rest: Buffer = Buffer.alloc(0)
    // Byte by byte: every possible cut, including inside a multi-byte character.
    for (let i = 0; i < all.length; i++) {
      const out = readOctetFrames(Buffer.concat([rest, all.subarray(i, i + 1)]))
      received.push(...out.messages)
      rest = out.rest
    }
    assert.equal(rest.length, 0)
    assert.deepEqual(
      received.map((m) => parseSyslogMessage(m, 'logplex')!.text),
      ['listening on 5000', 'ünïcode', 'three'],
    )
    assert.throws(() => readOctetFrames(Buffer.from('abc <190>1 x')), /not an octet-counted frame/)
  })
})
