/**
 * A site-to-site VPN end to end, against a real daemon process and real strongSwan on both
 * ends (issue 16):
 *
 *   [dynos, C.0.3]──lsb──[lsg- gateway: charon]══ egress veth, 203.0.113.0/24 ══[customer: charon]──[remote server]
 *                                 203.0.113.64/28 (--vpn-pool)         203.0.113.50    192.168.50.1     192.168.50.10
 *
 * The customer gateway is a second charon in a namespace, configured only from what
 * `localspace vpn:config NAME --format swanctl` prints. Then: both tunnels UP in the API and
 * `vpn:connections`; the remote server reaches an internal-routing app through C.0.3 (and
 * resolves its name on the space's DNS server) and a dyno directly; a dyno's namespace reaches
 * the remote server, which sees the dyno's own address; the remote cannot reach the data
 * network nor the host; a daemon restart keeps the tunnels and adopts them; `vpn:destroy`
 * leaves nothing behind.
 */
import assert from 'node:assert/strict'
import { execFile, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { spaceAddresses } from '../../src/core/address-plan.js'
import { run } from '../../src/exec/run.js'
import { vpnGatewayNetnsName } from '../../src/network/names.js'
import { Charon } from '../../src/vpn/charon.js'
import { kernelHasEsp } from '../../src/vpn/kernel-esp.js'
import { VpnHost } from '../../src/vpn/vpn-host.js'
import {
  exampleTarball,
  apiRequest,
  BIN,
  freePort,
  startDaemonProcess,
  tempDataDir,
  uploadSource,
  type DaemonProcess,
} from '../helpers/daemon.js'
import { killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { probeTcp, startEchoServer } from '../vpn/vpn-world.js'

const SFX = randomBytes(3).toString('hex')
const EGRESS = `veg${SFX}`
const CUSTOMER_NS = `vcu-${SFX}`
const REMOTE_NS = `vsb-${SFX}`
const HOST_PUBLIC = '203.0.113.1'
const CUSTOMER_IP = '203.0.113.50'
const VPN_POOL = '203.0.113.64/28'
const REMOTE_CIDR = '192.168.50.0/24'
const REMOTE_SERVER = '192.168.50.10'
const ECHO_PORT = 7200
const TEAM = `vpn-team-${SFX}`
const SPACE = `vpn-space-${SFX}`
const APP = `vpn-web-${SFX}`

/** The customer's side: an egress veth to it, and its office LAN with one server. */
async function makeCustomerSide(): Promise<void> {
  const scripts: Array<[string | undefined, string[]]> = [
    [
      undefined,
      [
        `netns add ${CUSTOMER_NS}`,
        `netns add ${REMOTE_NS}`,
        `link add ${EGRESS} type veth peer name eth0 netns ${CUSTOMER_NS}`,
        `addr add ${HOST_PUBLIC}/24 dev ${EGRESS}`,
        `link set ${EGRESS} up`,
      ],
    ],
    [
      CUSTOMER_NS,
      [
        'link set lo up',
        `addr add ${CUSTOMER_IP}/24 dev eth0`,
        'link set eth0 up',
        `link add lan type veth peer name eth0 netns ${REMOTE_NS}`,
        'addr add 192.168.50.1/24 dev lan',
        'link set lan up',
      ],
    ],
    [
      REMOTE_NS,
      [
        'link set lo up',
        `addr add ${REMOTE_SERVER}/24 dev eth0`,
        'link set eth0 up',
        'route add default via 192.168.50.1',
      ],
    ],
  ]
  for (const [ns, lines] of scripts)
    await run('ip', [...(ns === undefined ? [] : ['-n', ns]), '-batch', '-'], {
      input: lines.join('\n') + '\n',
    })
  await run('ip', ['netns', 'exec', CUSTOMER_NS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
}

interface TunnelJson {
  ip: string
  status: string
  status_message: string
}
interface VpnJson {
  id: string
  status: string
  tunnels: TunnelJson[]
}

if (sandboxed(import.meta.url)) {
  describe(
    'a site-to-site VPN through the daemon, on real strongSwan',
    { timeout: 300_000 },
    () => {
      const data = tempDataDir()
      const customerDir = mkdtempSync(join(tmpdir(), 'lsvpc-'))
      const flags = ['--vpn-pool', VPN_POOL, '--egress-interface', EGRESS]
      let port: number
      let d: DaemonProcess
      let customer: Charon | undefined
      let echo: ChildProcess | undefined
      let hostServer: Server | undefined
      let spaceId = ''
      let plan: ReturnType<typeof spaceAddresses>
      let spaceCidr = ''
      let webIp = ''
      /** A namespace on the space's dyno network, made through the admin API (a dyno's). */
      let dynoNs = ''
      let dynoIp = ''

      const api = (method: string, path: string, body?: unknown) =>
        apiRequest(d.url, d.key, method, path, body)
      /** `localspace …` as a user runs it, against this daemon. */
      const cli = (...args: string[]) =>
        promisify(execFile)(process.execPath, [BIN, ...args], {
          env: { ...process.env, HEROKU_HOST: d.url, HEROKU_API_KEY: d.key },
          timeout: 30_000,
        })
      const vpn = async (): Promise<VpnJson> =>
        (await api('GET', `/spaces/${SPACE}/vpn-connections/office`)).body as VpnJson
      const bothUp = async () => {
        const v = await vpn()
        return v.tunnels.length === 2 && v.tunnels.every((t) => t.status === 'UP')
      }
      const inRemote = (...argv: string[]) => run('ip', ['netns', 'exec', REMOTE_NS, ...argv])
      const curlFromRemote = (url: string, host?: string) =>
        inRemote(
          'curl',
          '-s',
          '--max-time',
          '3',
          ...(host ? ['-H', `Host: ${host}`] : []),
          url,
        ).then(
          (r) => r.stdout,
          () => '',
        )

      before(async () => {
        await makeCustomerSide()
        port = await freePort()
        d = await startDaemonProcess(data.dir, port, flags)
        echo = await startEchoServer(REMOTE_NS, REMOTE_SERVER, ECHO_PORT)
      })
      after(async () => {
        echo?.kill('SIGKILL')
        hostServer?.close()
        await api('PATCH', `/apps/${APP}/formation/web`, { quantity: 0 }).catch(() => undefined)
        await d.stop('SIGTERM')
        await killDynosUnder(data.dir)
        // Whatever charon a failed test left behind (they outlive the daemon).
        await new VpnHost({ dataDir: data.dir, exec: run, onTunnelStatus: () => undefined })
          .stopAll()
          .catch(() => undefined)
        await customer?.stop().catch(() => undefined)
        for (const ns of [CUSTOMER_NS, REMOTE_NS])
          await run('ip', ['netns', 'del', ns]).catch(() => undefined)
        await run('ip', ['link', 'del', EGRESS]).catch(() => undefined)
        data.remove()
        rmSync(customerDir, { recursive: true, force: true })
      })

      test('a space with an internal-routing app deployed into it', async () => {
        assert.equal((await api('POST', '/teams', { name: TEAM })).status, 201)
        const space = await api('POST', '/spaces', { name: SPACE, team: TEAM, region: 'virginia' })
        assert.equal(space.status, 201)
        spaceId = space.body.id as string
        spaceCidr = space.body.cidr as string
        plan = spaceAddresses(spaceCidr, space.body.data_cidr as string)
        await waitUntil(
          'the space to be allocated',
          async () => (await api('GET', `/spaces/${SPACE}`)).body.state === 'allocated',
        )
        const app = await api('POST', '/teams/apps', {
          name: APP,
          team: TEAM,
          space: SPACE,
          internal_routing: true,
        })
        assert.equal(app.status, 201)
        const tarball = exampleTarball()
        const url = await uploadSource(d, APP, tarball)
        const build = await api('POST', `/apps/${APP}/builds`, { source_blob: { url } })
        assert.equal(build.status, 201)
        await waitUntil(
          'web.1 to be up',
          async () => {
            const dynos = (await api('GET', `/apps/${APP}/dynos`)).body as Array<{
              name: string
              state: string
            }>
            return dynos.some((x) => x.name === 'web.1' && x.state === 'up')
          },
          { timeoutMs: 90_000 },
        )
        const topology = (await api('GET', `/spaces/${SPACE}/topology`)).body as {
          apps: Array<{ formation: Array<{ dynos: Array<{ private_ip: string }> }> }>
        }
        webIp = topology.apps[0]?.formation[0]?.dynos[0]?.private_ip ?? ''
        assert.match(webIp, /^10\./)
      })

      test('vpn:connect makes it active with two tunnel addresses from the pool', async () => {
        const made = await cli(
          'vpn:connect',
          'office',
          '--ip',
          CUSTOMER_IP,
          '--cidrs',
          REMOTE_CIDR,
          '--space',
          SPACE,
        )
        assert.match(made.stdout + made.stderr, /office/)
        await waitUntil('the connection active', async () => (await vpn()).status === 'active', {
          timeoutMs: 30_000,
        })
        const v = await vpn()
        assert.deepEqual(
          v.tunnels.map((t) => t.ip.startsWith('203.0.113.6') || t.ip.startsWith('203.0.113.7')),
          [true, true],
        )
        // The gateway namespace exists and charon runs in it.
        assert.match(
          (await run('ip', ['netns', 'list'])).stdout,
          new RegExp(vpnGatewayNetnsName(spaceId)),
        )
        assert.ok(existsSync(join(data.dir, 'vpn', spaceId, 'charon.json')))
      })

      test('a customer gateway configured only from vpn:config brings both tunnels UP', async () => {
        const conf = await cli('vpn:config', 'office', '--space', SPACE, '--format', 'swanctl')
        customer = new Charon({
          spaceId: 'customer',
          netns: CUSTOMER_NS,
          dataDir: customerDir,
          kernelEsp: await kernelHasEsp(run),
          exec: run,
        })
        await customer.ensureRunning()
        await customer.loadSwanctl(conf.stdout)
        await waitUntil('both tunnels UP in the API', bothUp, { timeoutMs: 30_000 })
        const listed = await cli('vpn:connections', '--space', SPACE)
        assert.match(listed.stdout, /office\s+active\s+UP\/UP/)
        // The tunnel addresses are answered for on the egress interface (proxy ARP).
        assert.match(
          (await run('ip', ['neigh', 'show', 'proxy', 'dev', EGRESS])).stdout,
          /203\.0\.113\./,
        )
      })

      test('the remote network reaches the internal-routing app through C.0.3, and a dyno directly', async () => {
        await waitUntil(
          'the app through the internal router',
          async () =>
            /Hello from web\.1/.test(
              await curlFromRemote(`http://${plan.internalRouter}/`, `${APP}.localhost`),
            ),
          { timeoutMs: 10_000 },
        )
        assert.match(await curlFromRemote(`http://${webIp}:5000/`), /Hello from web\.1/)
      })

      test("the space's DNS answers the remote side for the internal-routing app's name", async () => {
        const { stdout } = await inRemote(
          'dig',
          '+short',
          '+time=2',
          '+tries=1',
          `@${plan.gateway}`,
          `${APP}.localhost`,
        )
        assert.equal(stdout.trim(), plan.internalRouter)
      })

      test('a dyno reaches the remote server with its own address (no SNAT)', async () => {
        const attached = await api('POST', `/localspace/spaces/${spaceId}/attachments`, {
          kind: 'dyno',
          owner: `vpn-e2e-${SFX}`,
        })
        assert.equal(attached.status, 201)
        const a = attached.body as { id: string; address: string }
        dynoNs = `ls-${a.id.replace(/-/g, '').slice(0, 8)}`
        dynoIp = a.address
        await waitUntil('the dyno namespace', async () =>
          (await run('ip', ['netns', 'list'])).stdout.includes(dynoNs),
        )
        assert.equal(await probeTcp(dynoNs, REMOTE_SERVER, ECHO_PORT), dynoIp)
      })

      test('the remote network reaches neither the data network nor the host', async () => {
        // Something listens on every host address (C.0.1, D.0.1, the public one): reached, it
        // would answer.
        hostServer = createServer((socket) => socket.end('host\n'))
        await new Promise<void>((resolve) => hostServer!.listen(0, '0.0.0.0', resolve))
        const hostPort = (hostServer.address() as { port: number }).port
        assert.equal(await probeTcp(REMOTE_NS, REMOTE_SERVER, ECHO_PORT, 500), REMOTE_SERVER)
        for (const target of [plan.dataGateway, plan.gateway, HOST_PUBLIC])
          await assert.rejects(probeTcp(REMOTE_NS, target, hostPort, 1000), `${target}:${hostPort}`)
        // The API (on loopback) is no more reachable from the remote side than any host port.
        await assert.rejects(probeTcp(REMOTE_NS, plan.gateway, port, 1000))
      })

      test("the first tunnel's address unreachable: traffic continues on the second", async () => {
        const [first] = (await vpn()).tunnels
        // The customer loses its path to our first tunnel address (as when it goes down).
        await run('ip', ['-n', CUSTOMER_NS, 'route', 'add', 'blackhole', `${first!.ip}/32`])
        try {
          // Dead peer detection (the defaults: 10 s, 30 s) declares it dead on both ends.
          await waitUntil(
            'tunnel 1 DOWN, tunnel 2 UP',
            async () => {
              const [t1, t2] = (await vpn()).tunnels
              return t1?.status === 'DOWN' && t2?.status === 'UP'
            },
            { timeoutMs: 60_000, intervalMs: 500 },
          )
          await waitUntil(
            'traffic through the second tunnel',
            async () =>
              /Hello from web\.1/.test(await curlFromRemote(`http://${webIp}:5000/`)) &&
              (await probeTcp(dynoNs, REMOTE_SERVER, ECHO_PORT, 1000).catch(() => '')) === dynoIp,
            { timeoutMs: 15_000 },
          )
        } finally {
          await run('ip', ['-n', CUSTOMER_NS, 'route', 'del', 'blackhole', `${first!.ip}/32`])
        }
        // Our side keeps re-initiating: the first tunnel comes back by itself.
        await waitUntil('both tunnels UP again', bothUp, { timeoutMs: 30_000 })
      })

      test('a daemon restart keeps the tunnels up and adopts them', async () => {
        assert.ok(readdirSync(join(data.dir, 'vpn', spaceId)).includes('charon.json'))
        const record = (await run('cat', [join(data.dir, 'vpn', spaceId, 'charon.json')])).stdout
        await d.stop('SIGTERM')
        // While no daemon runs, the tunnel carries traffic.
        assert.equal(await probeTcp(dynoNs, REMOTE_SERVER, ECHO_PORT), dynoIp)
        d = await startDaemonProcess(data.dir, port, flags)
        await waitUntil('both tunnels UP after the restart', bothUp, { timeoutMs: 20_000 })
        assert.equal((await vpn()).status, 'active')
        // The same charon: adopted, not restarted.
        assert.equal(
          (await run('cat', [join(data.dir, 'vpn', spaceId, 'charon.json')])).stdout,
          record,
        )
        assert.match(await curlFromRemote(`http://${webIp}:5000/`), /Hello from web\.1/)
      })

      test('vpn:destroy leaves nothing behind', async () => {
        await cli('vpn:destroy', 'office', '--space', SPACE, '--confirm', 'office')
        await waitUntil(
          'the connection gone',
          async () => (await api('GET', `/spaces/${SPACE}/vpn-connections/office`)).status === 404,
          { timeoutMs: 30_000 },
        )
        const gateway = vpnGatewayNetnsName(spaceId)
        await waitUntil(
          'the gateway namespace gone',
          async () => !(await run('ip', ['netns', 'list'])).stdout.includes(gateway),
          { timeoutMs: 20_000 },
        )
        assert.equal(existsSync(join(data.dir, 'vpn', spaceId)), false, 'its charon directory')
        // The one charon left is the customer's (by its network namespace).
        const charons = (await run('ps', ['-eo', 'pid=,args='])).stdout
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter(([, args]) => args === '/usr/lib/ipsec/charon')
        const namespaces = await Promise.all(
          charons.map(async ([pid]) =>
            (await run('ip', ['netns', 'identify', pid!])).stdout.trim(),
          ),
        )
        assert.deepEqual(namespaces, [CUSTOMER_NS])
        assert.doesNotMatch(
          (await run('ip', ['route', 'show', 'table', 'all'])).stdout,
          /203\.0\.113\.(6[4-9]|7\d)/,
        )
        assert.doesNotMatch((await run('ip', ['rule'])).stdout, new RegExp(`from ${spaceCidr}`))
        assert.doesNotMatch((await run('ip', ['neigh', 'show', 'proxy'])).stdout, /203\.0\.113\./)
        assert.doesNotMatch((await run('ip', ['-o', 'link'])).stdout, /lsx-|lsg-/)
        // and the space's dynos no longer reach the remote network
        await assert.rejects(probeTcp(dynoNs, REMOTE_SERVER, ECHO_PORT, 1000))
      })
    },
  )
}
