import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backupsPastRetention, type RetainedBackup } from './backup-retention.js'

const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString()

test('scheduled backups: 7 daily, then the newest of each of 8 weeks and 12 months', () => {
  // One scheduled backup a day for 400 days (2026-01-01 … 2027-02-04).
  const all: RetainedBackup[] = Array.from({ length: 400 }, (_, i) => ({
    id: `a${i}`,
    createdAt: day(i),
    scheduled: true,
  }))
  const gone = new Set(backupsPastRetention(all))
  const kept = all.filter((b) => !gone.has(b.id)).map((b) => b.createdAt.slice(0, 10))
  // The 7 newest days are kept.
  for (let i = 393; i < 400; i++) assert.ok(!gone.has(`a${i}`), `day ${i} kept`)
  // No more than 7 + 8 + 12 are kept, and at least one per recent month.
  assert.ok(kept.length <= 27 && kept.length >= 12, `kept ${kept.length}`)
  for (const month of ['2026-03', '2026-06', '2026-12']) {
    assert.ok(
      kept.some((d) => d.startsWith(month)),
      `a backup of ${month} kept`,
    )
  }
  assert.ok(!kept.some((d) => d.startsWith('2026-01')), 'older than 12 months: gone')
})

test('manual backups: the 50 newest stay, scheduled ones do not count against them', () => {
  const manual = Array.from({ length: 52 }, (_, i) => ({
    id: `b${i}`,
    createdAt: day(i),
    scheduled: false,
  }))
  const scheduled = [{ id: 'a0', createdAt: day(0), scheduled: true }]
  assert.deepEqual(backupsPastRetention([...manual, ...scheduled]).sort(), ['b0', 'b1'])
})

test('few backups: nothing is past retention', () => {
  assert.deepEqual(
    backupsPastRetention([
      { id: 'a', createdAt: day(0), scheduled: true },
      { id: 'b', createdAt: day(1), scheduled: false },
    ]),
    [],
  )
})
