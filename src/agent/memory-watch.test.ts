import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { DynoProcess, MemoryStats } from '../runtime/index.js'
import { memoryLines, MemoryWatch } from './memory-watch.js'
import { waitUntil } from '../../test/helpers/wait.js'

const MB = 1024 * 1024
const stats = (o: Partial<MemoryStats> = {}): MemoryStats => ({
  limitBytes: 512 * MB,
  maxUsageBytes: 100 * MB,
  usageBytes: 100 * MB,
  failcnt: 0,
  oomKills: 0,
  ...o,
})
const none = { failcnt: 0, oomKills: 0 }

describe('memoryLines', () => {
  test('nothing while the run stays under its quota', () => {
    assert.deepEqual(memoryLines(none, stats(), 100 * MB), [])
  })

  test('R14 with the usage once the quota was reached, and not again for the same hit', () => {
    const hit = stats({ failcnt: 3, usageBytes: 510 * MB })
    assert.deepEqual(memoryLines(none, hit, hit.usageBytes), [
      'Process running mem=510M(99.6%)',
      'Error R14 (Memory quota exceeded)',
    ])
    assert.deepEqual(memoryLines({ failcnt: 3, oomKills: 0 }, hit, hit.usageBytes), [])
  })

  test('R14 then R15 and the SIGKILL when a process was killed for it', () => {
    const killed = stats({ failcnt: 9, oomKills: 1, maxUsageBytes: 512 * MB })
    assert.deepEqual(memoryLines(none, killed, killed.maxUsageBytes), [
      'Process running mem=512M(100.0%)',
      'Error R14 (Memory quota exceeded)',
      'Error R15 (Memory quota vastly exceeded)',
      'Stopping process with SIGKILL',
    ])
  })
})

/** A process whose cgroup reads come from a script, one sample per read (the last repeats). */
function scriptedProcess(samples: MemoryStats[]): { process: DynoProcess; reads: () => number } {
  let i = 0
  const memory = () => Promise.resolve(samples[Math.min(i++, samples.length - 1)])
  return { process: { memory } as unknown as DynoProcess, reads: () => i }
}

describe('MemoryWatch', () => {
  test('reports a hit while the run goes on, and only the rest at the end', async () => {
    const lines: string[] = []
    const { process } = scriptedProcess([stats(), stats({ failcnt: 2, usageBytes: 511 * MB })])
    const watch = new MemoryWatch(process, (l) => lines.push(l), 5)
    watch.start({ adopted: false })
    await waitUntil('the R14', () => lines.includes('Error R14 (Memory quota exceeded)'))
    await watch.finish(stats({ failcnt: 2, oomKills: 1, maxUsageBytes: 512 * MB }))
    assert.deepEqual(lines, [
      'Process running mem=511M(99.8%)',
      'Error R14 (Memory quota exceeded)',
      'Process running mem=512M(100.0%)',
      'Error R14 (Memory quota exceeded)',
      'Error R15 (Memory quota vastly exceeded)',
      'Stopping process with SIGKILL',
    ])
  })

  test('an adopted run does not repeat what the earlier daemon reported', async () => {
    const lines: string[] = []
    const earlier = stats({ failcnt: 4, usageBytes: 300 * MB })
    const { process, reads } = scriptedProcess([earlier])
    const watch = new MemoryWatch(process, (l) => lines.push(l), 5)
    watch.start({ adopted: true })
    await waitUntil('several reads of the same counters', () => reads() >= 3)
    await watch.finish(earlier)
    assert.deepEqual(lines, [])
  })
})
