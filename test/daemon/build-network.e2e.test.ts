/**
 * Builds of an app in a space run in the space's network, like its dynos: against a real
 * daemon process with an egress pool, a build step that downloads from a server on the
 * "internet" (a namespace behind the host) is seen there with one of the space's outbound
 * addresses, runs as the app's uid, and leaves no namespace behind when it ends — nor when
 * the daemon is killed during it. A build of an app outside a space runs on the common build
 * network: the internet and DNS, and nothing of the host or a space (issue 15, B1).
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { randomInt } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DEFAULT_DYNO_PORT } from '../../src/agent/runtime-agent.js'
import {
  BUILD_NETWORK_CIDR,
  buildNetworkAddresses,
  spaceAddresses,
} from '../../src/core/address-plan.js'
import { slugDir } from '../../src/core/builds.js'
import { run } from '../../src/exec/run.js'
import { DEFAULT_CGROUP_ROOT } from '../../src/runtime/index.js'
import {
  apiRequest as api,
  createSpaceApp,
  freePort,
  REPO,
  startDaemonProcess,
  tempDataDir,
  type DaemonProcess,
  uploadSource,
} from '../helpers/daemon.js'
import { killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

/** The "internet": a namespace behind the host's egress interface (documentation ranges). */
const INTERNET_NS = 'inet-build'
const EGRESS_IF = 'inet0'
const HOST_PUBLIC = '198.51.100.1'
const INTERNET_ADDRESS = '198.51.100.2'
const EGRESS_POOL = '203.0.113.0/28'
const SERVER_PORT = 9000

/** An HTTP server that answers every request with the address it came from (after NAT). */
const SERVER = `
require('node:http').createServer((req, res) => res.end(req.socket.remoteAddress))
  .listen(${SERVER_PORT}, '${INTERNET_ADDRESS}', () => console.log('ready'))`

const ip = (args: string[]) => run('ip', args)

async function makeInternet(): Promise<ChildProcess> {
  await ip(['netns', 'add', INTERNET_NS])
  await ip(['link', 'add', EGRESS_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', INTERNET_NS])
  await ip(['addr', 'add', `${HOST_PUBLIC}/24`, 'dev', EGRESS_IF])
  await ip(['link', 'set', EGRESS_IF, 'up'])
  const inside = (args: string[]) => ip(['-n', INTERNET_NS, ...args])
  await inside(['link', 'set', 'lo', 'up'])
  await inside(['addr', 'add', `${INTERNET_ADDRESS}/24`, 'dev', 'eth0'])
  await inside(['link', 'set', 'eth0', 'up'])
  // Replies to the outbound addresses go back through the host.
  await inside(['route', 'add', '203.0.113.0/24', 'via', HOST_PUBLIC])
  const server = spawn('ip', ['netns', 'exec', INTERNET_NS, process.execPath, '-e', SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    server.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
    server.on('exit', (code) => reject(new Error(`the internet server exited ${code}`)))
  })
  return server
}

if (sandboxed(import.meta.url)) {
  describe('builds run sandboxed in their space network', () => {
    const data = tempDataDir()
    const scratch = mkdtempSync(join(tmpdir(), 'localspace-build-net-'))
    const daemonArgs = ['--egress-pool', EGRESS_POOL, '--egress-interface', EGRESS_IF]
    let port = 0
    let d: DaemonProcess
    let server: ChildProcess
    let spaceId = ''
    before(async () => {
      server = await makeInternet()
      port = await freePort()
      d = await startDaemonProcess(data.dir, port, daemonArgs)
      spaceId = await createSpaceApp(d, { team: 'bn-team', space: 'bn-space', app: 'bn-app' })
    })
    after(async () => {
      for (const app of ['bn-app', 'bn-personal']) {
        await api(d.url, d.key, 'PATCH', `/apps/${app}/formation/web`, { quantity: 0 }).catch(
          () => undefined,
        )
      }
      await d?.stop('SIGTERM')
      await killDynosUnder(data.dir)
      server?.kill()
      data.remove()
      rmSync(scratch, { recursive: true, force: true })
    })

    /** Uploads examples/node-web with `build` as its build script and starts a build of it. */
    const startBuild = async (build: string, app = 'bn-app') => {
      const src = join(scratch, `app-${Date.now()}`)
      cpSync(join(REPO, 'examples', 'node-web'), src, { recursive: true })
      const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'))
      pkg.scripts.build = build
      writeFileSync(join(src, 'package.json'), JSON.stringify(pkg))
      const tarball = execFileSync('tar', ['-czf', '-', '-C', src, '.'])
      const url = await uploadSource(d, app, tarball)
      const res = await api(d.url, d.key, 'POST', `/apps/${app}/builds`, { source_blob: { url } })
      assert.equal(res.status, 201)
      return res.body as { id: string; output_stream_url: string }
    }
    interface BuildJson {
      status: string
      slug: { id: string }
      output_stream_url: string
    }
    const buildOf = async (id: string, app = 'bn-app') =>
      (await api(d.url, d.key, 'GET', `/apps/${app}/builds/${id}`)).body as BuildJson
    /** The owners of the space's attachments (dynos and builds hold them by their ids). */
    const owners = async () =>
      (
        (await api(d.url, d.key, 'GET', `/localspace/spaces/${spaceId}/attachments`))
          .body as Array<{ owner: string }>
      ).map((a) => a.owner)

    test("a build downloads through the space's outbound addresses, as the app's uid", async () => {
      const build = await startBuild(
        [
          `curl -sS --max-time 5 http://${INTERNET_ADDRESS}:${SERVER_PORT}/ > seen-from.txt`,
          'id -u > built-by.txt',
        ].join(' && '),
      )
      const output = await (await fetch(build.output_stream_url)).text()
      const done = await buildOf(build.id)
      assert.equal(done.status, 'succeeded', output)

      const slug = slugDir(data.dir, done.slug.id)
      const nat = await api(d.url, d.key, 'GET', '/spaces/bn-space/nat')
      const sources = nat.body.sources as string[]
      assert.equal(sources.length, 4)
      const seenFrom = readFileSync(join(slug, 'seen-from.txt'), 'utf8')
      assert.ok(
        sources.includes(seenFrom),
        `seen from ${seenFrom}, not one of ${sources.join(', ')}`,
      )
      const uid = Number(readFileSync(join(slug, 'built-by.txt'), 'utf8'))
      assert.ok(uid >= 2_000_000, `built by uid ${uid}, not an app uid`)
      // The release started web.1, whose attachment stays; the build's went with it.
      await waitUntil(
        'the build to own no attachment',
        async () => !(await owners()).includes(build.id),
      )
    })

    test('a build of an app outside a space reaches the internet and DNS, nothing else', async () => {
      // A server on the host on every address: what the API or the router would be if they
      // listened wide; and the daemon's own API, on the host's loopback.
      const hostServer = createServer((_req, res) => res.end('host')).listen(0, '0.0.0.0')
      await new Promise((resolve) => hostServer.once('listening', resolve))
      const hostPort = (hostServer.address() as AddressInfo).port
      try {
        // The space's web.1 (released by the first test) and its host addresses.
        const space = (await api(d.url, d.key, 'GET', '/spaces/bn-space')).body
        const plan = spaceAddresses(space.cidr, space.data_cidr)
        let dynoIp = ''
        await waitUntil('the space to have a web dyno', async () => {
          const topology = (await api(d.url, d.key, 'GET', '/spaces/bn-space/topology')).body
          dynoIp = topology.apps[0]?.formation[0]?.dynos[0]?.private_ip ?? ''
          return dynoIp !== ''
        })
        const buildGateway = buildNetworkAddresses(BUILD_NETWORK_CIDR).gateway
        const probes: Record<string, string> = {
          'api-on-loopback': d.url,
          'host-loopback': `http://127.0.0.1:${hostPort}/`,
          'host-public': `http://${HOST_PUBLIC}:${hostPort}/`,
          'build-gateway': `http://${buildGateway}:${hostPort}/`,
          'space-gateway': `http://${plan.gateway}:${hostPort}/`,
          'internal-router': `http://${plan.internalRouter}/`,
          'space-dyno': `http://${dynoIp}:${DEFAULT_DYNO_PORT}/`,
          internet: `http://${INTERNET_ADDRESS}:${SERVER_PORT}/`,
        }
        // Not reached: refused or dropped; a host service the build reaches would answer.
        const script = [
          ...Object.entries(probes).map(
            ([name, url]) =>
              `(curl -sS --max-time 3 -o body-${name}.txt ${url} && echo reached || echo blocked) > probe-${name}.txt`,
          ),
          // A name of no space: answered (NXDOMAIN) by the build network's DNS server.
          `node -e "require('dns').promises.resolve4('nothing.app.localspace').catch((e) => console.log(e.code))" > dns.txt`,
        ].join(' ; ')
        assert.equal(
          (await api(d.url, d.key, 'POST', '/apps', { name: 'bn-personal' })).status,
          201,
        )
        const build = await startBuild(script, 'bn-personal')
        const output = await (await fetch(build.output_stream_url)).text()
        const done = await buildOf(build.id, 'bn-personal')
        assert.equal(done.status, 'succeeded', output)
        const slug = slugDir(data.dir, done.slug.id)
        const read = (file: string) => readFileSync(join(slug, file), 'utf8').trim()
        const seen = Object.fromEntries(Object.keys(probes).map((n) => [n, read(`probe-${n}.txt`)]))
        assert.deepEqual(seen, {
          'api-on-loopback': 'blocked',
          'host-loopback': 'blocked',
          'host-public': 'blocked',
          'build-gateway': 'blocked',
          'space-gateway': 'blocked',
          'internal-router': 'blocked',
          'space-dyno': 'blocked',
          internet: 'reached',
        })
        // It leaves as the host, not with a space's outbound addresses.
        assert.equal(read('body-internet.txt'), HOST_PUBLIC)
        assert.equal(read('dns.txt'), 'ENOTFOUND')
      } finally {
        hostServer.close()
      }
    })

    test('a daemon killed during a build: the next one fails it and frees its network', async () => {
      // A duration of its own: other test files, running alongside, sleep 600 too.
      const sleep = `sleep 600.${randomInt(1000, 10000)}`
      const build = await startBuild(`echo started > /tmp/started && ${sleep}`)
      await waitUntil('the build to hold its network', async () =>
        (await owners()).includes(build.id),
      )
      // The parent goes with the last child (cgroup.ts): none at all is none of the build's.
      const cgroups = () =>
        existsSync(DEFAULT_CGROUP_ROOT)
          ? readdirSync(DEFAULT_CGROUP_ROOT).filter((n) => n.startsWith('build-'))
          : []
      await waitUntil('the build step to run', () => cgroups().length === 1)
      await d.stop('SIGKILL')
      // A start that first cleans up after the dead build: slower on a loaded machine.
      d = await startDaemonProcess(data.dir, port, daemonArgs, 30_000)
      const done = await buildOf(build.id)
      assert.equal(done.status, 'failed')
      assert.ok(!(await owners()).includes(build.id), 'its attachment is gone')
      assert.deepEqual(cgroups(), [], 'its cgroup is gone')
      assert.deepEqual(readdirSync(join(data.dir, 'build-work')), [], 'its work directory is gone')
      const sleeping = (await run('pgrep', ['-f', `^${sleep}$`]).catch(() => ({ stdout: '' })))
        .stdout
      assert.equal(sleeping.trim(), '', 'its processes died with the daemon')
      const output = await (await fetch(done.output_stream_url)).text()
      assert.match(output, /Build interrupted: the daemon restarted/)
    })
  })
}
