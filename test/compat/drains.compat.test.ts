/**
 * `heroku drains`, `drains:add` and `drains:remove` (the official CLI, 11.x) against a real
 * localspace daemon, through the recording proxy that checks every body against Heroku's
 * schema. Needs `npm run build` first.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { sandboxed } from '../helpers/sandbox.js'
import { ok, startCompat, type Compat } from './harness.js'

if (sandboxed(import.meta.url)) {
  describe('heroku drains against localspace', () => {
    const app = `drains-${randomBytes(3).toString('hex')}`
    const url = 'syslog+tls://logs.example.com:6514'
    let c: Compat

    before(async () => {
      c = await startCompat()
      assert.equal((await c.api('POST', '/apps', { name: app })).status, 201)
    })
    after(async () => {
      await c?.stop()
    })

    test('drains:add, drains, drains --json and drains:remove', async () => {
      const added = ok(await c.heroku(['drains:add', url, '-a', app]))
      assert.equal(added.stdout.trim(), `Successfully added drain ${url}`)
      const https = 'https://user:pw@logs.example.com/in?x=1'
      ok(await c.heroku(['drains:add', https, '-a', app]))

      const listed = ok(await c.heroku(['drains', '-a', app]))
      const lines = listed.stdout.split('\n').filter((l) => l.trim() !== '')
      assert.match(lines[0]!, /Drains/)
      assert.match(lines[1]!, /^syslog\+tls:\/\/logs\.example\.com:6514 \(d\.[0-9a-f-]{36}\)$/)
      assert.match(
        lines[2]!,
        /^https:\/\/user:pw@logs\.example\.com\/in\?x=1 \(d\.[0-9a-f-]{36}\)$/,
      )

      const json = ok(await c.heroku(['drains', '-a', app, '--json']))
      const drains = JSON.parse(json.stdout) as Array<{ url: string; token: string }>
      assert.deepEqual(
        drains.map((d) => d.url),
        [url, https],
      )

      const dup = await c.heroku(['drains:add', url, '-a', app])
      assert.notEqual(dup.code, 0)
      assert.match(dup.stderr, /already been taken/)
      const bad = await c.heroku(['drains:add', 'ftp://logs.example.com/', '-a', app])
      assert.notEqual(bad.code, 0)
      assert.match(bad.stderr, /Invalid drain URL/)

      const removed = ok(await c.heroku(['drains:remove', url, '-a', app]))
      assert.equal(removed.stdout.trim(), `Successfully removed drain ${url}`)
      // By token, as `drains:remove [URL|TOKEN]` allows.
      ok(await c.heroku(['drains:remove', drains[1]!.token, '-a', app]))
      const empty = ok(await c.heroku(['drains', '-a', app]))
      assert.equal(empty.stdout.trim(), '')
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
