import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isPlatformError } from './errors.js'
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  paginate,
  parseRange,
  type Page,
  type RangeSpec,
} from './range.js'

const FIELDS = ['id', 'name']
const parse = (header: string | undefined) => parseRange(header, FIELDS, 'name')

function refused(header: string) {
  assert.throws(
    () => parse(header),
    (e: unknown) =>
      isPlatformError(e) && e.statusCode === 416 && e.id === 'requested_range_not_satisfiable',
    header,
  )
}

describe('parseRange', () => {
  test('no header means the default field, page size and ascending order', () => {
    for (const header of [undefined, '', '   ']) {
      assert.deepEqual(parse(header), {
        field: 'name',
        startExclusive: false,
        max: DEFAULT_PAGE_SIZE,
        order: 'asc',
      })
    }
  })

  test('a full header gives field, bounds, max and order', () => {
    assert.deepEqual(parse('id a..z; max=10, order=desc'), {
      field: 'id',
      startExclusive: false,
      start: 'a',
      end: 'z',
      max: 10,
      order: 'desc',
    })
  })

  test('the cli’s own forms parse', () => {
    assert.deepEqual(parse('id ..; max=10;'), {
      field: 'id',
      startExclusive: false,
      max: 10,
      order: 'asc',
    })
    const ps = parseRange('version ..; max=1, order=desc', ['version', 'id'], 'version')
    assert.equal(ps.field, 'version')
    assert.equal(ps.max, 1)
    assert.equal(ps.order, 'desc')
  })

  test('a leading ] makes the start exclusive', () => {
    const spec = parse('name ]app-b..; max=2')
    assert.equal(spec.start, 'app-b')
    assert.equal(spec.startExclusive, true)
    assert.equal(spec.end, undefined)
  })

  test('starts may contain dots and percent-encoded characters', () => {
    const spec = parseRange('email ]a.one@example.com..; max=2', ['email'], 'email')
    assert.equal(spec.start, 'a.one@example.com')
    const encoded = parseRange('email ]a%2Eone%40example%2Ecom..', ['email'], 'email')
    assert.equal(encoded.start, 'a.one@example.com')
  })

  test('a max above the limit is capped', () => {
    assert.equal(parse('name ..; max=5000').max, MAX_PAGE_SIZE)
    assert.equal(parse('name ..; max=1000').max, 1000)
  })

  test('malformed headers are refused with 416', () => {
    for (const header of [
      'garbage',
      'name',
      'name a-b',
      '..; max=2',
      'Name ..',
      'name ..; max=0',
      'name ..; max=-3',
      'name ..; max=2.5',
      'name ..; max=',
      'name ..; order=up',
      'name ..; limit=3',
      'name %zz..',
      'name ..%E0%A4%A',
    ]) {
      refused(header)
    }
  })

  test('a field the list does not support is refused with 416', () => {
    refused('created_at ..')
    refused('email ..')
  })
})

interface Item {
  name: string
  n: number
}
const items: Item[] = ['c', 'a', 'e', 'b', 'd'].map((name, i) => ({
  name,
  n: [30, 4, 100, 9, 5][i]!,
}))
const keyOf = (item: Item, field: string) => (field === 'n' ? item.n : item.name)
const spec = (over: Partial<RangeSpec>): RangeSpec => ({
  field: 'name',
  startExclusive: false,
  max: 200,
  order: 'asc',
  ...over,
})

describe('paginate', () => {
  test('a page that holds everything has no next range', () => {
    const page = paginate(items, spec({}), keyOf)
    assert.deepEqual(
      page.items.map((i) => i.name),
      ['a', 'b', 'c', 'd', 'e'],
    )
    assert.equal(page.nextRange, undefined)
    assert.equal(page.contentRange, 'name a..e; max=200')
  })

  test('a truncated page points at the rest with an exclusive start', () => {
    const page = paginate(items, spec({ max: 2 }), keyOf)
    assert.deepEqual(
      page.items.map((i) => i.name),
      ['a', 'b'],
    )
    assert.equal(page.nextRange, 'name ]b..; max=2')
    assert.equal(page.contentRange, 'name a..b; max=2')
  })

  test('following next range visits every item once and ends without one', () => {
    const seen: string[] = []
    let header: string | undefined = 'name ..; max=2'
    let pages = 0
    while (header !== undefined) {
      const page: Page<Item> = paginate(items, parse(header), keyOf)
      seen.push(...page.items.map((i) => i.name))
      header = page.nextRange
      pages++
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e'])
    assert.equal(pages, 3)
  })

  test('a list ending on a page boundary has no next range on its last page', () => {
    const first = paginate(items.slice(0, 4), spec({ max: 2 }), keyOf)
    assert.ok(first.nextRange)
    const last = paginate(items.slice(0, 4), parse(first.nextRange), keyOf)
    assert.equal(last.items.length, 2)
    assert.equal(last.nextRange, undefined)
  })

  test('descending order pages from the end and says so in next range', () => {
    const page = paginate(items, spec({ max: 2, order: 'desc' }), keyOf)
    assert.deepEqual(
      page.items.map((i) => i.name),
      ['e', 'd'],
    )
    assert.equal(page.nextRange, 'name ]d..; max=2, order=desc')
    const next = paginate(items, parse(page.nextRange), keyOf)
    assert.deepEqual(
      next.items.map((i) => i.name),
      ['c', 'b'],
    )
  })

  test('numeric fields compare as numbers', () => {
    const page = paginate(items, spec({ field: 'n', max: 3 }), keyOf)
    assert.deepEqual(
      page.items.map((i) => i.n),
      [4, 5, 9],
    )
    const next = paginate(items, parseRange(page.nextRange, ['n'], 'n'), keyOf)
    assert.deepEqual(
      next.items.map((i) => i.n),
      [30, 100],
    )
  })

  test('inclusive start and end bound the list', () => {
    const page = paginate(items, spec({ start: 'b', end: 'd' }), keyOf)
    assert.deepEqual(
      page.items.map((i) => i.name),
      ['b', 'c', 'd'],
    )
  })

  test('next range encodes dots so the next request parses', () => {
    const people = ['a.b@x.io', 'c.d@x.io', 'e.f@x.io'].map((name) => ({ name, n: 0 }))
    const page = paginate(people, spec({ max: 1 }), keyOf)
    assert.equal(page.nextRange, 'name ]a%2Eb%40x%2Eio..; max=1')
    const next = paginate(people, parse(page.nextRange), keyOf)
    assert.deepEqual(
      next.items.map((i) => i.name),
      ['c.d@x.io'],
    )
  })

  test('an empty list is an empty page without ranges', () => {
    const page = paginate([], spec({ max: 2 }), keyOf)
    assert.deepEqual(page, { items: [] })
  })

  test('the input list is not reordered', () => {
    const copy = [...items]
    paginate(items, spec({ order: 'desc' }), keyOf)
    assert.deepEqual(items, copy)
  })
})
