import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EventBus } from '../core/events.js'
import { ReconcileLoop, type ReconcileScope } from './reconcile-loop.js'

/** A pass that records what it covered and waits on a gate the test opens. */
function gatedPasses() {
  const passes: Array<'all' | string[]> = []
  let active = 0
  let maxActive = 0
  const gates: Array<() => void> = []
  const run = async (scope: ReconcileScope<string>) => {
    active++
    maxActive = Math.max(maxActive, active)
    passes.push(scope === 'all' ? 'all' : [...scope].sort())
    await new Promise<void>((resolve) => gates.push(resolve))
    active--
  }
  /** Lets every pass waiting so far finish. */
  const open = async () => {
    for (const go of gates.splice(0)) go()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { passes, run, open, maxActive: () => maxActive, waiting: () => gates.length }
}

describe('reconcile loop', () => {
  test('kicks while a pass runs make exactly one more pass, never two at once', async () => {
    const p = gatedPasses()
    const loop = new ReconcileLoop({ run: p.run })
    const first = loop.kick()
    for (let i = 0; i < 5; i++) void loop.kick()
    assert.equal(p.passes.length, 1, 'the kicks wait for the pass under way')
    await p.open()
    assert.equal(p.passes.length, 2, 'five kicks coalesce into one more pass')
    await p.open()
    await first
    assert.equal(p.passes.length, 2)
    assert.equal(p.maxActive(), 1)
  })

  test('a kick resolves only once a pass that began after it is done', async () => {
    const p = gatedPasses()
    const loop = new ReconcileLoop({ run: p.run })
    void loop.kick()
    let seen = false
    void loop.kick().then(() => (seen = true))
    await p.open() // the first pass ends; the kick's own pass starts
    assert.equal(seen, false)
    await p.open()
    assert.equal(seen, true)
  })

  test('keys kicked meanwhile are covered together by the next pass; one kick of all wins', async () => {
    const p = gatedPasses()
    const loop = new ReconcileLoop<string>({ run: p.run })
    void loop.kick('a')
    void loop.kick('b')
    void loop.kick('c', 'b')
    void loop.kick('d')
    await p.open()
    void loop.kick('e')
    void loop.kick()
    void loop.kick('f')
    await p.open()
    await p.open()
    await loop.idle()
    assert.deepEqual(p.passes, [['a'], ['b', 'c', 'd'], 'all'])
  })

  test('a kick from inside a pass that does not wait coalesces instead of nesting', async () => {
    let active = 0
    let nested = false
    let passes = 0
    const loop: ReconcileLoop = new ReconcileLoop({
      run: () => {
        if (active > 0) nested = true
        active++
        passes++
        if (passes === 1) void loop.kick() // as a pass that emits an event it follows
        active--
      },
    })
    await loop.kick()
    assert.equal(nested, false)
    assert.equal(passes, 2)
  })

  test('a pass that throws is reported and the loop goes on', async () => {
    const errors: string[] = []
    let passes = 0
    const loop = new ReconcileLoop({
      run: () => {
        if (++passes === 1) throw new Error('host busy')
      },
      onError: (e) => errors.push(e.message),
    })
    await loop.kick()
    await loop.kick()
    assert.deepEqual(errors, ['host busy'])
    assert.equal(passes, 2)
  })

  test('follows events with keys picked from them, and no longer once stopped', async () => {
    const events = new EventBus()
    const passes: Array<'all' | string[]> = []
    const loop = new ReconcileLoop<string>({
      run: (scope) => void passes.push(scope === 'all' ? 'all' : [...scope]),
    })
      .follow(events, 'formation.changed', (appId) => appId)
      .follow(events, 'dynos.changed', () => [])
      .follow(events, 'space.changed')
    events.emit('formation.changed', 'app-1')
    events.emit('dynos.changed', 'app-1') // no keys picked: no pass
    events.emit('space.changed', 'space-1')
    await loop.idle()
    assert.deepEqual(passes, [['app-1'], 'all'])
    await loop.stop()
    events.emit('formation.changed', 'app-2')
    events.emit('space.changed', 'space-1')
    await loop.idle()
    assert.equal(passes.length, 2)
  })

  test('the timer makes a pass over everything, until stopped', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] })
    const passes: Array<'all' | string[]> = []
    const loop = new ReconcileLoop<string>({
      run: (scope) => void passes.push(scope === 'all' ? 'all' : [...scope]),
      intervalMs: 1000,
    })
    await loop.start()
    assert.deepEqual(passes, ['all'], 'start makes the first pass')
    t.mock.timers.tick(1000)
    await loop.idle()
    t.mock.timers.tick(1000)
    await loop.idle()
    assert.deepEqual(passes, ['all', 'all', 'all'])
    await loop.stop()
    t.mock.timers.tick(5000)
    await loop.idle()
    assert.equal(passes.length, 3)
  })

  test('stop waits for the pass under way and starts no other', async () => {
    const p = gatedPasses()
    const loop = new ReconcileLoop({ run: p.run })
    void loop.kick()
    void loop.kick()
    let stopped = false
    const stopping = loop.stop().then(() => (stopped = true))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(stopped, false, 'the pass has not finished')
    await p.open()
    await stopping
    assert.equal(p.passes.length, 1, 'the kick queued before stop is dropped')
    await loop.kick()
    assert.equal(p.passes.length, 1, 'a stopped loop makes no pass')
  })
})
