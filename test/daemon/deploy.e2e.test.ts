/**
 * The whole path a user takes, against a real daemon process: a space, an app in it, a deploy
 * of examples/node-web through the sources and builds API, a web dyno that comes up in the
 * space network, answers on its private IP, is found by name through the space's DNS, shows in
 * `ps` and the logs — and that a `kill -9` of the daemon leaves it running and re-adopted.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import {
  exampleTarball,
  apiRequest as api,
  createSpaceApp,
  freePort,
  startDaemonProcess,
  tempDataDir,
  type DaemonProcess,
  uploadSource,
} from '../helpers/daemon.js'
import { killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

if (sandboxed(import.meta.url)) {
  describe('deploy an app into a space and reach it', () => {
    const data = tempDataDir()
    let port: number
    let d: DaemonProcess
    let clientNetns = ''
    let gateway = ''
    before(async () => {
      port = await freePort()
      d = await startDaemonProcess(data.dir, port)
    })
    after(async () => {
      await api(d.url, d.key, 'PATCH', '/apps/e2e-web/formation/web', { quantity: 0 }).catch(
        () => undefined,
      )
      await d.stop('SIGTERM')
      await killDynosUnder(data.dir) // whatever a failed test left running
      data.remove()
    })

    interface DynoJson {
      id: string
      name: string
      state: string
    }
    interface TopologyJson {
      apps: Array<{
        formation: Array<{ process_type: string; dynos: Array<{ private_ip: string }> }>
      }>
    }
    const dynos = async (): Promise<DynoJson[]> =>
      (await api(d.url, d.key, 'GET', '/apps/e2e-web/dynos')).body as DynoJson[]
    /** web.1's private IP, from the space topology (`heroku spaces:topology`). */
    const webIp = async (): Promise<string> => {
      const t = (await api(d.url, d.key, 'GET', '/spaces/e2e-space/topology')).body as TopologyJson
      const web = t.apps[0]?.formation.find((f) => f.process_type === 'web')
      return web?.dynos[0]?.private_ip ?? ''
    }
    const inClient = (...argv: string[]) => run('ip', ['netns', 'exec', clientNetns, ...argv])
    /** dig's header and answer for a name from inside the space; '' while no answer comes. */
    const digStatus = (name: string) =>
      inClient('dig', '+time=1', '+tries=1', '+noall', '+comments', '+answer', name).then(
        (r) => r.stdout,
        () => '',
      )

    test('a space and an app in it', async () => {
      await createSpaceApp(d, { team: 'e2e-team', space: 'e2e-space', app: 'e2e-web' })
    })

    test('a deploy through sources and builds makes a release', async () => {
      const tarball = exampleTarball()
      const url = await uploadSource(d, 'e2e-web', tarball)
      const build = await api(d.url, d.key, 'POST', '/apps/e2e-web/builds', {
        source_blob: { url },
      })
      assert.equal(build.status, 201)
      await waitUntil(
        'the build to finish',
        async () => {
          const b = await api(d.url, d.key, 'GET', `/apps/e2e-web/builds/${build.body.id}`)
          return b.body.status !== 'pending'
        },
        { timeoutMs: 60_000 },
      )
      const done = await api(d.url, d.key, 'GET', `/apps/e2e-web/builds/${build.body.id}`)
      assert.equal(done.body.status, 'succeeded')
      const releases = await api(d.url, d.key, 'GET', '/apps/e2e-web/releases')
      const deploy = (releases.body as any[]).find((r) => /^Deploy /.test(r.description))
      assert.ok(deploy, 'a release made by the deploy')
      assert.equal(deploy.slug.id, done.body.slug.id)
    })

    test('web.1 comes up in the space and answers on its private IP', async () => {
      await waitUntil(
        'web.1 to be up',
        async () => (await dynos()).some((x) => x.name === 'web.1' && x.state === 'up'),
        { timeoutMs: 30_000 },
      )
      // A client inside the space: an attachment made through the admin API.
      const spaces = await api(d.url, d.key, 'GET', '/spaces/e2e-space')
      const attached = await fetch(`${d.url}/localspace/spaces/${spaces.body.id}/attachments`, {
        method: 'POST',
        headers: {
          accept: 'application/vnd.heroku+json; version=3',
          authorization: `Bearer ${d.key}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ kind: 'dyno', owner: 'e2e-client' }),
      })
      assert.equal(attached.status, 201, await attached.clone().text())
      const attachment = (await attached.json()) as { id: string; address: string }
      clientNetns = `ls-${attachment.id.replace(/-/g, '').slice(0, 8)}`
      await waitUntil('the client namespace', async () =>
        (await run('ip', ['netns', 'list'])).stdout.includes(clientNetns),
      )
      const ip = await webIp()
      assert.match(ip, /^10\./)
      const { stdout } = await inClient('curl', '-s', '--max-time', '3', `http://${ip}:5000/`)
      assert.match(stdout, /web\.1/)
      gateway = ip.split('.').slice(0, 2).join('.') + '.0.1'
    })

    test("the space's DNS finds the dyno by name", async () => {
      const ip = await webIp()
      await waitUntil('the dyno name to resolve', async () => {
        const { stdout } = await inClient('dig', '+short', '1.web.e2e-web.app.localspace')
        return stdout.trim() === ip
      })
      const { stdout } = await inClient(
        'dig',
        '+short',
        `@${gateway}`,
        'web.e2e-web.app.localspace',
      )
      assert.equal(stdout.trim(), ip)
    })

    test('names follow scaling: web.2 appears with web=2 and goes with web=1', async () => {
      const scale = (quantity: number) =>
        api(d.url, d.key, 'PATCH', '/apps/e2e-web/formation/web', { quantity })
      assert.equal((await scale(2)).status, 200)
      await waitUntil(
        'web.2 to resolve',
        async () => /status: NOERROR/.test(await digStatus('2.web.e2e-web.app.localspace')),
        { timeoutMs: 30_000 },
      )
      assert.equal((await scale(1)).status, 200)
      await waitUntil(
        'web.2 to go (NXDOMAIN)',
        async () => /status: NXDOMAIN/.test(await digStatus('2.web.e2e-web.app.localspace')),
        { timeoutMs: 40_000 },
      )
      assert.match(await digStatus('1.web.e2e-web.app.localspace'), new RegExp(await webIp()))
    })

    test('the router serves it at <app>.<domain>, to trusted sources only', async () => {
      const viaRouter = () =>
        run('curl', [
          '-s',
          '-o',
          '-',
          '-w',
          ' %{http_code}',
          '-H',
          'Host: e2e-web.localhost',
          'http://127.0.0.1:8080/',
        ])
      assert.match((await viaRouter()).stdout, /web\.1.* 200$/s)
      const put = await api(d.url, d.key, 'PUT', '/spaces/e2e-space/inbound-ruleset', {
        rules: [
          { action: 'deny', source: '127.0.0.0/8' },
          { action: 'allow', source: '0.0.0.0/0' },
        ],
      })
      assert.equal(put.status, 200)
      await waitUntil(
        'the ruleset to apply',
        async () => / 403$/.test((await viaRouter()).stdout),
        {
          timeoutMs: 1000,
        },
      )
      const applied = await api(d.url, d.key, 'GET', '/spaces/e2e-space/inbound-ruleset')
      assert.equal(applied.body.applied, true)
      await api(d.url, d.key, 'PUT', '/spaces/e2e-space/inbound-ruleset', {
        rules: [{ action: 'allow', source: '0.0.0.0/0' }],
      })
      const session = await api(d.url, d.key, 'POST', '/apps/e2e-web/log-sessions', { lines: 200 })
      const text = await (await fetch(session.body.logplex_url as string)).text()
      assert.match(
        text,
        /heroku\[router\]: at=info method=GET path="\/" host=e2e-web\.localhost .*status=200/,
      )
    })

    test('the app log shows the state changes and the output', async () => {
      const session = await api(d.url, d.key, 'POST', '/apps/e2e-web/log-sessions', { lines: 200 })
      const text = await (await fetch(session.body.logplex_url as string)).text()
      assert.match(text, /heroku\[web\.1\]: State changed from starting to up/)
      assert.match(text, /app\[web\.1\]: /)
    })

    test('kill -9 of the daemon leaves the dyno running; the new daemon adopts it', async () => {
      const [was] = await dynos()
      const ip = await webIp()
      await d.stop('SIGKILL')
      // While no daemon runs, the dyno still answers.
      const { stdout } = await inClient('curl', '-s', '--max-time', '3', `http://${ip}:5000/`)
      assert.match(stdout, /web\.1/)
      d = await startDaemonProcess(data.dir, port)
      // The new daemon's DNS learns the adopted dyno again.
      await waitUntil('the name to resolve again', async () =>
        (await digStatus('1.web.e2e-web.app.localspace')).includes(ip),
      )
      const [now] = await dynos()
      assert.equal(now?.id, was?.id, 'the same dyno, not a new one')
      assert.equal(now?.state, 'up')
    })

    test('scaling to zero stops it and its name goes away', async () => {
      const scaled = await api(d.url, d.key, 'PATCH', '/apps/e2e-web/formation/web', {
        quantity: 0,
      })
      assert.equal(scaled.status, 200)
      await waitUntil('no dynos', async () => (await dynos()).length === 0)
      await waitUntil('the name to go (NXDOMAIN)', async () =>
        /status: NXDOMAIN/.test(await digStatus('1.web.e2e-web.app.localspace')),
      )
    })

    test('deleting the app removes its slug, build output and log from the data dir', async () => {
      const app = await api(d.url, d.key, 'GET', '/apps/e2e-web')
      const files = () => ({
        slugs: readdirSync(join(data.dir, 'slugs')),
        outputs: readdirSync(join(data.dir, 'build-output')),
        log: existsSync(join(data.dir, 'logs', `${app.body.id}.log`)),
      })
      assert.deepEqual(
        [files().slugs.length, files().outputs.length, files().log],
        [1, 1, true],
        'what the deploy left',
      )
      assert.equal((await api(d.url, d.key, 'DELETE', '/apps/e2e-web')).status, 200)
      await waitUntil('the files to go', () => {
        const f = files()
        return f.slugs.length === 0 && f.outputs.length === 0 && !f.log
      })
    })
  })
}
