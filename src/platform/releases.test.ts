import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { newId, nowIso } from '../core/ids.js'
import type { App, Build, Slug } from '../core/types.js'
import { assertRefused, startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createApp } from './apps.js'
import { createBuild } from './builds.js'
import { MAX_CONFIG_BYTES, releaseBuild, rollback, setConfigVars } from './releases.js'

const slugFor = (build: Build, processTypes: Record<string, string>): Slug => {
  const now = nowIso()
  return {
    id: newId(),
    appId: build.appId,
    processTypes,
    size: 1,
    checksum: null,
    commit: build.sourceVersion,
    commitDescription: null,
    buildpackProvidedDescription: 'Procfile',
    stack: 'heroku-24',
    createdAt: now,
    updatedAt: now,
  }
}

describe('platform releases', () => {
  let p: TestPlatform
  let app: App
  beforeEach(() => {
    p = startTestPlatform()
    app = createApp(p.ctx, p.user, { name: `rel-${newId().slice(0, 8)}` })
    p.emitted.length = 0
    p.logged.length = 0
  })
  afterEach(() => p.close())

  test('a config change appends v N+1, then emits app.changed after the commit and logs it', () => {
    const { release, config } = setConfigVars(p.ctx, app, p.user, { FOO: 'bar' })
    assert.equal(release?.version, 2)
    assert.equal(release?.description, 'Set FOO config vars')
    assert.deepEqual({ ...config }, { FOO: 'bar' })
    assert.equal(p.store.releases.current(app.id)?.id, release?.id)
    assert.deepEqual(p.emitted, [{ event: 'app.changed', id: app.id, inTransaction: false }])
    assert.deepEqual(
      p.logged.map((l) => l.entry.text),
      [`Set FOO config vars by ${p.user.email}\nRelease v2 created by ${p.user.email}`],
    )
    const next = setConfigVars(p.ctx, app, p.user, { FOO: null, BAR: 'x' })
    assert.equal(next.release?.version, 3)
    assert.equal(next.release?.description, 'Set BAR and remove FOO config vars')
  })

  test('a patch that changes nothing makes no release and emits nothing', () => {
    setConfigVars(p.ctx, app, p.user, { FOO: 'bar' })
    p.emitted.length = 0
    const { release } = setConfigVars(p.ctx, app, p.user, { FOO: 'bar', GONE: null })
    assert.equal(release, undefined)
    assert.equal(p.store.releases.current(app.id)?.version, 2)
    assert.deepEqual(p.emitted, [])
  })

  test('a refused config change leaves no release, no event and no log line', () => {
    assertRefused(() => setConfigVars(p.ctx, app, p.user, { '1BAD': 'x' }), /Invalid config var/)
    assertRefused(() => setConfigVars(p.ctx, app, p.user, { A: 'nul\0' }), /NUL/)
    const big = 'x'.repeat(MAX_CONFIG_BYTES)
    assertRefused(() => setConfigVars(p.ctx, app, p.user, { BIG: big }), /at most 32 kB/)
    assert.equal(p.store.releases.current(app.id)?.version, 1)
    assert.deepEqual(p.emitted, [])
    assert.deepEqual(p.logged, [])
  })

  test('a rollback is a new release with the old slug and config', () => {
    setConfigVars(p.ctx, app, p.user, { FOO: 'one' })
    setConfigVars(p.ctx, app, p.user, { FOO: 'two' })
    p.emitted.length = 0
    const release = rollback(p.ctx, app, p.user, { release: '2' })
    assert.equal(release.version, 4)
    assert.equal(release.description, 'Rollback to v2')
    assert.deepEqual({ ...release.config }, { FOO: 'one' })
    assert.deepEqual(p.emitted, [{ event: 'app.changed', id: app.id, inTransaction: false }])
    assertRefused(() => rollback(p.ctx, app, p.user, { release: '99' }), /find that release/, 404)
    assert.equal(p.store.releases.current(app.id)?.version, 4)
  })

  test('a build releases its slug with the current config, its formation and a succeeded build', () => {
    setConfigVars(p.ctx, app, p.user, { FOO: 'bar' })
    const build = createBuild(p.ctx, app, p.user, {
      url: 'http://127.0.0.1:1/source.tgz',
      version: '0123456789abcdef0123456789abcdef01234567',
    })
    p.emitted.length = 0
    p.logged.length = 0
    const slug = slugFor(build, { web: 'node server.js', worker: 'node worker.js' })
    const release = releaseBuild(p.ctx, build, slug)
    assert.equal(release.version, 3)
    assert.equal(release.description, 'Deploy 01234567')
    assert.equal(release.slugId, slug.id)
    assert.deepEqual({ ...release.config }, { FOO: 'bar' })
    assert.deepEqual(p.store.builds.findSlug(app.id, slug.id)?.processTypes, slug.processTypes)
    const done = p.store.builds.find(build.id)!
    assert.deepEqual([done.status, done.slugId, done.releaseId], ['succeeded', slug.id, release.id])
    const formation = p.store.releases.formation(app.id)
    assert.deepEqual(formation.map((f) => [f.type, f.quantity, f.command]).sort(), [
      ['web', 1, 'node server.js'],
      ['worker', 0, 'node worker.js'],
    ])
    assert.deepEqual(p.emitted, [
      { event: 'formation.changed', id: app.id, inTransaction: false },
      { event: 'app.changed', id: app.id, inTransaction: false },
    ])
    assert.match(p.logged[0]!.entry.text, /^Deploy 01234567 by dev@.*\nRelease v3 created by/)
  })

  test('a build of an app deleted meanwhile releases nothing and emits nothing', () => {
    const build = createBuild(p.ctx, app, p.user, { url: 'http://127.0.0.1:1/source.tgz' })
    p.store.apps.delete(app.id)
    p.emitted.length = 0
    assert.throws(() => releaseBuild(p.ctx, build, slugFor(build, { web: 'x' })), /deleted/)
    assert.deepEqual(p.emitted, [])
  })
})
