import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { WatchList, type Watched } from './watch-list.js'

class Item implements Watched {
  watchSlot = -1
  constructor(readonly name: string) {}
}

function names(list: WatchList<Item>): string[] {
  const seen: string[] = []
  list.forEach((item) => seen.push(item.name))
  return seen.sort()
}

describe('WatchList', () => {
  test('adds and deletes in any order, each item once', () => {
    const list = new WatchList<Item>()
    const [a, b, c] = [new Item('a'), new Item('b'), new Item('c')]
    list.add(a)
    list.add(b)
    list.add(c)
    list.add(b) // already listed: no second entry
    assert.equal(list.size, 3)
    list.delete(a) // c moves into a's slot
    assert.deepEqual(names(list), ['b', 'c'])
    assert.equal(a.watchSlot, -1)
    list.delete(a) // not listed any more: nothing changes
    assert.deepEqual(names(list), ['b', 'c'])
    list.add(a)
    assert.deepEqual(names(list), ['a', 'b', 'c'])
  })

  test('deleting an item of another list changes nothing', () => {
    const mine = new WatchList<Item>()
    const theirs = new WatchList<Item>()
    const x = new Item('x')
    const y = new Item('y')
    mine.add(x)
    theirs.add(y) // y.watchSlot is 0, the slot x holds in `mine`
    mine.delete(y)
    assert.deepEqual(names(mine), ['x'])
    assert.equal(y.watchSlot, 0)
  })

  test('forEach visits every item once even when each deletes itself', () => {
    const list = new WatchList<Item>()
    const items = Array.from({ length: 50 }, (_, i) => new Item(`i${i}`))
    for (const item of items) list.add(item)
    const visited: string[] = []
    list.forEach((item) => {
      visited.push(item.name)
      if (Number(item.name.slice(1)) % 2 === 0) list.delete(item)
    })
    assert.equal(visited.length, 50)
    assert.equal(new Set(visited).size, 50)
    assert.equal(list.size, 25)
    assert.ok(names(list).every((n) => Number(n.slice(1)) % 2 === 1))
  })
})
