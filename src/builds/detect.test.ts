import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { detect, DetectError } from './detect.js'

describe('detection chosen by buildpacks', () => {
  const dirs: string[] = []
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
  /** An app directory with these files. */
  const app = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'localspace-detect-'))
    dirs.push(dir)
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    return dir
  }
  const both = () =>
    app({ 'package.json': '{}', 'requirements.txt': 'flask\n', Procfile: 'web: ./serve\n' })

  test('without a choice the first kind that fits wins (Node.js before Python)', async () => {
    assert.equal((await detect(both(), '/usr/bin')).name, 'Node.js')
  })

  test('heroku/python on an app that also has a package.json builds it as Python', async () => {
    const plan = await detect(both(), '/usr/bin', ['Python'])
    assert.equal(plan.name, 'Python')
    assert.ok(
      plan.steps.every((s) => !s.argv.includes('npm')),
      'no npm step',
    )
    assert.deepEqual(plan.processTypes, { web: './serve' })
  })

  test('the Procfile choice runs no build step at all', async () => {
    const plan = await detect(both(), '/usr/bin', ['Procfile'])
    assert.equal(plan.name, 'Procfile')
    assert.deepEqual(plan.steps, [])
  })

  test('several choices run one after another; the Procfile names the process types', async () => {
    const plan = await detect(both(), '/usr/bin', ['Node.js', 'Python'])
    assert.equal(plan.name, 'Node.js, Python')
    assert.equal(plan.steps[0]!.argv[0], 'npm')
    assert.ok(plan.steps.some((s) => s.argv.includes('venv')))
    assert.deepEqual(plan.processTypes, { web: './serve' })
  })

  test('a choice the app does not fit fails the build and says what is missing', async () => {
    await assert.rejects(
      detect(app({ 'package.json': '{}' }), '/usr/bin', ['Python']),
      (e: unknown) =>
        e instanceof DetectError &&
        /include Python, but it has no requirements\.txt/.test(e.message),
    )
  })
})
