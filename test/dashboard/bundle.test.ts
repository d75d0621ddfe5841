/**
 * The dashboard's first load (the page, its entry script, the chunks that imports, the CSS)
 * is at most 250 KB gzipped, and the picture with its layout library is not part of it.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { test } from 'node:test'
import { buildDashboard } from '../../web/build.js'

const BUDGET_BYTES = 250 * 1024

test('first load ≤ 250 KB gzipped; the picture is loaded later', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-web-build-'))
  try {
    const { firstLoad } = await buildDashboard(dir)
    const gzipped = (name: string) => gzipSync(readFileSync(join(dir, name)), { level: 9 }).length
    const total = firstLoad.reduce((sum, name) => sum + gzipped(name), 0)
    t.diagnostic(`first load: ${firstLoad.join(', ')} = ${(total / 1024).toFixed(1)} KB gzipped`)
    const all = readdirSync(dir).filter((n) => /\.(js|css|html)$/.test(n))
    const later = all.filter((n) => !firstLoad.includes(n))
    t.diagnostic(
      `loaded on demand: ${later.map((n) => `${n} ${(gzipped(n) / 1024).toFixed(1)} KB`).join(', ')}`,
    )
    assert.ok(total <= BUDGET_BYTES, `${total} bytes`)
    assert.ok(firstLoad.includes('index.html'))
    assert.ok(
      later.some((n) => n.startsWith('picture-')),
      'the picture is a chunk of its own',
    )
    // The page names its files under the dashboard prefix, no other host.
    const html = readFileSync(join(dir, 'index.html'), 'utf8')
    assert.match(
      html,
      /<script type="module" src="\/localspace\/dashboard\/main-\w+\.js"><\/script>/,
    )
    assert.doesNotMatch(html, /https?:\/\//)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
