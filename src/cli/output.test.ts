import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  colorEnabled,
  Output,
  renderKeyValues,
  renderTable,
  stripAnsi,
  visibleWidth,
  type TextSink,
} from './output.js'

const sink = (isTTY = false) => {
  const chunks: string[] = []
  const s: TextSink & { text: () => string } = {
    isTTY,
    write: (t: string) => chunks.push(t),
    text: () => chunks.join(''),
  }
  return s
}

describe('renderTable', () => {
  const rows = [
    { name: 'prod', team: 'acme', state: 'allocated' },
    { name: 'staging-eu', team: 'a', state: null },
  ]
  const columns = [
    { header: 'Name', get: (r: (typeof rows)[number]) => r.name },
    { header: 'Team', get: (r: (typeof rows)[number]) => r.team },
    { header: 'State', get: (r: (typeof rows)[number]) => r.state },
  ]

  test('aligns columns to the widest cell, two spaces apart, without trailing spaces', () => {
    assert.equal(
      renderTable(rows, columns),
      [
        ' Name        Team  State',
        ' ───────────────────────────',
        ' prod        acme  allocated',
        ' staging-eu  a',
        '',
      ].join('\n'),
    )
  })

  test('an empty list still prints the header', () => {
    assert.equal(renderTable([], columns), ' Name  Team  State\n ─────────────────\n')
  })

  test('colour codes do not count towards the width', () => {
    const out = renderTable(rows, columns, { color: true })
    assert.equal(stripAnsi(out), renderTable(rows, columns))
    assert.ok(out.includes('\u001b[1mName\u001b[22m'))
  })

  test('a newline inside a cell cannot break the rows', () => {
    const out = renderTable([{ v: 'a\nb' }], [{ header: 'V', get: (r: { v: string }) => r.v }])
    assert.equal(out, ' V\n ───\n a b\n')
  })

  test('wide characters count as one column each', () => {
    assert.equal(visibleWidth('▸ ⬢'), 3)
  })
})

describe('renderKeyValues', () => {
  test('aligns values after the longest key and leaves out undefined ones', () => {
    assert.equal(
      renderKeyValues([
        ['ID', '42'],
        ['Outbound IPs', ['1.2.3.4', '5.6.7.8']],
        ['Missing', undefined],
        ['Shield', null],
      ]),
      'ID:           42\nOutbound IPs: 1.2.3.4, 5.6.7.8\nShield:\n',
    )
  })

  test('indents the continuation lines of multi-line values', () => {
    assert.equal(renderKeyValues([['Dynos', 'web.1\nweb.2']]), 'Dynos: web.1\n       web.2\n')
  })
})

describe('colour', () => {
  test('only on a terminal, and never with NO_COLOR or TERM=dumb', () => {
    assert.equal(colorEnabled({ write: () => 0, isTTY: true }, {}), true)
    assert.equal(colorEnabled({ write: () => 0, isTTY: false }, {}), false)
    assert.equal(colorEnabled({ write: () => 0, isTTY: true }, { NO_COLOR: '1' }), false)
    assert.equal(colorEnabled({ write: () => 0, isTTY: true }, { TERM: 'dumb' }), false)
  })
})

describe('Output', () => {
  test('actions print "message... done" on stderr and results on stdout', async () => {
    const stdout = sink()
    const stderr = sink()
    const out = new Output(stdout, stderr, {})
    const v = await out.action(
      'Scaling dynos',
      async () => 3,
      (n) => `done, v${n}`,
    )
    out.line('result')
    assert.equal(v, 3)
    assert.equal(stderr.text(), 'Scaling dynos... done, v3\n')
    assert.equal(stdout.text(), 'result\n')
  })

  test('a failed action ends its line with ! and rethrows', async () => {
    const stderr = sink()
    const out = new Output(sink(), stderr, {})
    await assert.rejects(
      out.action('Creating', () => Promise.reject(new Error('boom'))),
      /boom/,
    )
    assert.equal(stderr.text(), 'Creating... !\n')
  })

  test('errors are prefixed line by line with ▸', () => {
    const stderr = sink()
    new Output(sink(), stderr, {}).error('first\nsecond')
    assert.equal(stderr.text(), ' ▸    first\n ▸    second\n')
  })

  test('json is pretty-printed on stdout', () => {
    const stdout = sink()
    new Output(stdout, sink(), {}).json({ a: [1] })
    assert.deepEqual(JSON.parse(stdout.text()), { a: [1] })
  })
})
