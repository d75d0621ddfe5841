/**
 * `heroku domains*` and `heroku certs*` (the official CLI, 11.x) against a real localspace
 * daemon with an HTTPS router listener, through the recording proxy that checks every body
 * against Heroku's schema; then the daemon's router itself: it serves the custom domains and
 * picks each name's certificate by SNI. Needs `npm run build` first.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import { selfSigned } from '../helpers/certs.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { ok, fields, flat, startCompat, tableRows, type Compat } from './harness.js'

/** The certificate (CN) and ALPN protocol the router's HTTPS listener answers `servername` with. */
function handshake(port: number, servername: string): Promise<{ cn: string; alpn: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: '127.0.0.1',
        port,
        servername,
        rejectUnauthorized: false,
        ALPNProtocols: ['h2', 'http/1.1'],
      },
      () => {
        const cn = socket.getPeerCertificate().subject.CN as string
        const alpn = socket.alpnProtocol || ''
        socket.end()
        resolve({ cn, alpn })
      },
    )
    socket.on('error', reject)
  })
}

/** The status the router's HTTP listener gives a request for `host`. */
function status(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      .on('error', reject)
  })
}

if (sandboxed(import.meta.url)) {
  describe('heroku domains and certs against localspace', () => {
    const suffix = randomBytes(3).toString('hex')
    const team = `dom-team-${suffix}`
    const space = `dom-space-${suffix}`
    const app = `dom-app-${suffix}`
    const zone = `${suffix}.example.com`
    const www = `www.${zone}`
    const secure = `secure.${zone}`
    const api = `api.${zone}`
    const dir = mkdtempSync(join(tmpdir(), 'localspace-compat-certs-'))
    let c: Compat
    let certName = ''

    before(async () => {
      const router = selfSigned(['*.localhost'])
      writeFileSync(join(dir, 'router.crt'), router.cert)
      writeFileSync(join(dir, 'router.key'), router.key)
      // The app's certificate covers secure. and api., not www.
      const own = selfSigned([secure, api])
      writeFileSync(join(dir, 'app.crt'), own.cert)
      writeFileSync(join(dir, 'app.key'), own.key)
      c = await startCompat({
        tls: { certFile: join(dir, 'router.crt'), keyFile: join(dir, 'router.key') },
        // Serving and certificates are the subject here, not ownership proofs (there is no
        // DNS to publish in): domains are trusted at once, as on a closed network.
        daemonArgs: ['--domain-verification', 'off'],
      })
      assert.equal((await c.api('POST', '/teams', { name: team })).status, 201)
      assert.equal((await c.api('POST', '/spaces', { name: space, team })).status, 201)
      await waitUntil('the space allocated', async () => {
        return (await c.api('GET', `/spaces/${space}`)).body.state === 'allocated'
      })
      assert.equal((await c.api('POST', '/teams/apps', { name: app, space })).status, 201)
    })
    after(async () => {
      await c?.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    test('domains:add, domains, domains --json, domains:info and domains:wait', async () => {
      const added = ok(await c.heroku(['domains:add', www, '-a', app]))
      assert.ok(
        flat(added.stdout).includes(
          `Configure your app's DNS provider to point to the DNS Target ${app}.localhost.`,
        ),
        added.stdout,
      )
      const listed = ok(await c.heroku(['domains', '-a', app]))
      assert.match(listed.stdout, new RegExp(`=== ${app} Heroku Domain\\n\\n${app}\\.localhost\\n`))
      assert.match(listed.stdout, new RegExp(`=== ${app} Custom Domains`))
      const rows = tableRows(listed.stdout)
      assert.deepEqual(rows[0]!.slice(0, 3), [www, 'CNAME', `${app}.localhost`])

      const json = JSON.parse(
        ok(await c.heroku(['domains', '-a', app, '--json'])).stdout,
      ) as Array<{
        kind: string
        hostname: string
      }>
      assert.deepEqual(json.map((d) => `${d.kind} ${d.hostname}`).sort(), [
        `custom ${www}`,
        `heroku ${app}.localhost`,
      ])
      const info = fields(ok(await c.heroku(['domains:info', www, '-a', app])).stdout)
      assert.equal(info.hostname, www)
      assert.equal(info.kind, 'custom')
      assert.equal(info.cname, `${app}.localhost`)
      assert.equal(info.status, 'succeeded')
      // localspace's own fields, which the CLI prints as it gets them.
      assert.equal(info.verification_txt_name, `_localspace-challenge.${www}`)
      assert.match(info.verification_txt_value ?? '', /^[0-9a-f]{32}$/)
      assert.equal(info.app, app)
      ok(await c.heroku(['domains:wait', www, '-a', app]))

      const dup = await c.heroku(['domains:add', www, '-a', app])
      assert.notEqual(dup.code, 0)
      assert.match(flat(dup.stderr), /Domain already added to this app\./)
      const bad = await c.heroku(['domains:add', 'not_a_host', '-a', app])
      assert.notEqual(bad.code, 0)
      assert.match(flat(bad.stderr), /is not a valid hostname/)
      const mine = await c.heroku(['domains:add', `other.localhost`, '-a', app])
      assert.notEqual(mine.code, 0)
      assert.match(flat(mine.stderr), /default domains/)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('the router serves the custom domain as it serves <app>.<domain>', async () => {
      // No dynos: the app is known at both names (H14), unknown names are 404.
      assert.equal(await status(c.routerPort, www), 503)
      assert.equal(await status(c.routerPort, `${app}.localhost`), 503)
      assert.equal(await status(c.routerPort, `nope.${zone}`), 404)
    })

    test('certs:add, certs, certs:info, domains:add --cert and domains:update', async () => {
      const added = ok(
        await c.heroku(['certs:add', join(dir, 'app.crt'), join(dir, 'app.key'), '-a', app]),
      )
      assert.match(added.stdout, /Certificate details:/)
      assert.match(flat(added.stdout), new RegExp(`Common Name\\(s\\): ${secure} ${api}`))
      assert.match(added.stdout, /SSL certificate is self signed\./)
      const rows = tableRows(ok(await c.heroku(['certs', '-a', app])).stdout)
      assert.equal(rows.length, 1)
      certName = rows[0]![0]!
      assert.match(certName, /^[a-z]+-\d{5}$/)
      assert.equal(rows[0]![1], `${secure}, ${api}`)

      ok(await c.heroku(['domains:add', secure, '--cert', certName, '-a', app]))
      // One certificate: the CLI asks nothing and sends no sni_endpoint; the router still
      // serves the app's certificate that covers the name.
      ok(await c.heroku(['domains:add', api, '-a', app]))
      const listed = tableRows(ok(await c.heroku(['domains', '-a', app])).stdout)
      assert.deepEqual(listed.find((r) => r[0] === secure)?.slice(3), [certName])

      const info = ok(await c.heroku(['certs:info', '--show-domains', '-a', app]))
      assert.match(flat(info.stdout), new RegExp(`Domain\\(s\\): ${secure}`))
      const wrong = await c.heroku(['domains:update', www, '--cert', certName, '-a', app])
      assert.notEqual(wrong.code, 0)
      assert.match(flat(wrong.stderr), new RegExp(`does not cover ${www.replace(/\./g, '\\.')}`))
      assert.deepEqual(c.proxy.failures, [])
    })

    test('the router picks each name’s certificate by SNI, with HTTP/2', async () => {
      const port = c.routerTlsPort
      assert.deepEqual(await handshake(port, secure), { cn: secure, alpn: 'h2' })
      assert.deepEqual(await handshake(port, api), { cn: secure, alpn: 'h2' }, 'covered')
      assert.deepEqual(await handshake(port, www), { cn: '*.localhost', alpn: 'h2' })
      assert.equal((await handshake(port, `${app}.localhost`)).cn, '*.localhost')
      assert.equal((await handshake(port, `unknown.${zone}`)).cn, '*.localhost')
    })

    test('certs:remove and domains:remove: the names fall back, then go', async () => {
      ok(await c.heroku(['certs:remove', '-a', app, '--confirm', app]))
      assert.match(ok(await c.heroku(['certs', '-a', app])).stdout, /has no SSL certificates/)
      await waitUntil('the default certificate', async () => {
        return (await handshake(c.routerTlsPort, secure)).cn === '*.localhost'
      })
      const domain = fields(ok(await c.heroku(['domains:info', secure, '-a', app])).stdout)
      assert.equal(domain.sni_endpoint, undefined, 'no SNI endpoint any more')
      for (const host of [www, secure, api]) ok(await c.heroku(['domains:remove', host, '-a', app]))
      const left = JSON.parse(
        ok(await c.heroku(['domains', '-a', app, '--json'])).stdout,
      ) as unknown[]
      assert.equal(left.length, 1)
      assert.equal(await status(c.routerPort, www), 404)
      const gone = await c.heroku(['domains:remove', www, '-a', app])
      assert.notEqual(gone.code, 0)
      assert.match(flat(gone.stderr), /Couldn't find that domain\./)
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
