import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { PlatformError } from '../core/errors.js'
import { newId } from '../core/ids.js'
import type { App } from '../core/types.js'
import { startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createApp } from './apps.js'
import { createBuild, failBuild, setBuildpacks } from './builds.js'

describe('platform builds', () => {
  let p: TestPlatform
  let app: App
  beforeEach(() => {
    p = startTestPlatform()
    app = createApp(p.ctx, p.user, { name: `bld-${newId().slice(0, 8)}` })
    p.emitted.length = 0
  })
  afterEach(() => p.close())

  test('a build is recorded pending, then build.created is emitted after the commit', () => {
    const checksum = `SHA256:${'ab'.repeat(32)}`
    const build = createBuild(p.ctx, app, p.user, {
      url: 'https://example.com/source.tgz',
      version: 'v1',
      checksum,
      versionDescription: 'first',
    })
    assert.deepEqual(p.store.builds.find(build.id), build)
    assert.equal(build.status, 'pending')
    assert.equal(build.appId, app.id)
    assert.deepEqual([build.userId, build.userEmail], [p.user.id, p.user.email])
    assert.deepEqual(
      [build.sourceUrl, build.sourceVersion, build.sourceChecksum, build.sourceVersionDescription],
      ['https://example.com/source.tgz', 'v1', checksum, 'first'],
    )
    assert.match(build.outputToken, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url')
    assert.deepEqual([build.slugId, build.releaseId], [null, null])
    assert.deepEqual(p.emitted, [{ event: 'build.created', id: build.id, inTransaction: false }])
  })

  test('absent source fields are null, and every build gets its own output token', () => {
    const a = createBuild(p.ctx, app, p.user, { url: 'http://127.0.0.1:1/a.tgz' })
    const b = createBuild(p.ctx, app, p.user, { url: 'http://127.0.0.1:1/a.tgz' })
    assert.deepEqual(
      [a.sourceVersion, a.sourceChecksum, a.sourceVersionDescription],
      [null, null, null],
    )
    assert.notEqual(a.outputToken, b.outputToken)
  })

  test('a source that is not http(s), or a malformed checksum, is a 422 and stores nothing', () => {
    for (const source of [
      { url: 'not a url' },
      { url: 'file:///etc/passwd' },
      { url: 'ftp://example.com/x.tgz' },
      { url: 'https://example.com/x.tgz', checksum: 'MD5:abc' },
      { url: 'https://example.com/x.tgz', checksum: 'SHA256:abc' },
    ]) {
      assert.throws(
        () => createBuild(p.ctx, app, p.user, source),
        (e: unknown) => e instanceof PlatformError && e.statusCode === 422,
        JSON.stringify(source),
      )
    }
    assert.deepEqual(p.store.builds.list(app.id), [])
    assert.deepEqual(p.emitted, [])
  })

  test('a failed build ends failed, with no slug or release, and emits nothing', () => {
    const build = createBuild(p.ctx, app, p.user, { url: 'http://127.0.0.1:1/a.tgz' })
    p.emitted.length = 0
    failBuild(p.ctx, build)
    const failed = p.store.builds.find(build.id)!
    assert.deepEqual([failed.status, failed.slugId, failed.releaseId], ['failed', null, null])
    assert.equal(p.store.releases.current(app.id)?.version, 1)
    assert.deepEqual(p.emitted, [])
  })

  test('buildpacks: known ones, each once, replace the list, then app.changed', () => {
    setBuildpacks(p.ctx, app, ['heroku/python', 'heroku/nodejs'])
    assert.deepEqual(p.store.apps.buildpacks(app.id), ['heroku/python', 'heroku/nodejs'])
    for (const urls of [['heroku/cobol'], ['heroku/nodejs', 'heroku/nodejs']]) {
      assert.throws(
        () => setBuildpacks(p.ctx, app, urls),
        (e: unknown) => e instanceof PlatformError && e.statusCode === 422,
      )
    }
    assert.deepEqual(p.store.apps.buildpacks(app.id), ['heroku/python', 'heroku/nodejs'])
    setBuildpacks(p.ctx, app, [])
    assert.deepEqual(p.store.apps.buildpacks(app.id), [])
    const changed = { event: 'app.changed', id: app.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed])
  })
})
