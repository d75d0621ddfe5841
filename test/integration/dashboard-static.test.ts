/**
 * The dashboard's files on the API listener: `/` and `/localspace/dashboard/<file>`, gzip when
 * asked, a strict CSP, nothing outside the built directory, and the API paths unchanged.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('dashboard static files', () => {
  let api: TestApi
  let dir: string
  const script = 'console.log("dashboard")\n'.repeat(50)
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'localspace-web-'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>localspace</title>')
    writeFileSync(join(dir, 'main-abc123.js'), script)
    api = await startTestApi({ dashboardDir: dir })
  })
  after(async () => {
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const get = (url: string, headers: Record<string, string> = {}) =>
    api.server.inject({ method: 'GET', url, headers })

  test('GET / is the page, with a CSP that allows only its own origin', async () => {
    const res = await get('/', { accept: 'text/html' })
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8')
    assert.match(res.body, /<title>localspace<\/title>/)
    assert.match(
      String(res.headers['content-security-policy']),
      /default-src 'none'; script-src 'self'/,
    )
    assert.equal(res.headers['cache-control'], 'no-cache')
  })

  test('assets are served gzipped when asked, and kept for good (hashed names)', async () => {
    const res = await get('/localspace/dashboard/main-abc123.js', { 'accept-encoding': 'gzip, br' })
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-encoding'], 'gzip')
    assert.equal(gunzipSync(res.rawPayload).toString(), script)
    assert.ok(res.rawPayload.length < script.length)
    assert.match(String(res.headers['cache-control']), /immutable/)
    const plain = await get('/localspace/dashboard/main-abc123.js')
    assert.equal(plain.headers['content-encoding'], undefined)
    assert.equal(plain.body, script)
  })

  test('nothing but the built files: other names are 404 in Heroku shape', async () => {
    for (const path of [
      '/localspace/dashboard/nope.js',
      '/localspace/dashboard/..%2fpackage.json',
      '/localspace/dashboard/index.html',
    ]) {
      const res = await get(path)
      assert.equal(res.statusCode, 404, path)
      assert.equal(res.json().id, 'not_found')
    }
  })

  test('API paths are unchanged: a key still gets JSON, no key still 401', async () => {
    const apps = await api.call('GET', '/apps')
    assert.equal(apps.status, 200)
    assert.deepEqual(apps.body, [])
    assert.equal((await api.call('GET', '/apps', undefined, { key: null })).status, 401)
  })

  test('without a build, GET / says how to build it', async () => {
    const bare = await startTestApi()
    try {
      const res = await bare.server.inject({ method: 'GET', url: '/' })
      assert.equal(res.statusCode, 404)
      assert.match(res.json().message, /npm run build/)
    } finally {
      await bare.close()
    }
  })
})
