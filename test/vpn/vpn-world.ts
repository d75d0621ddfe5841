/**
 * A site-to-site VPN world in network namespaces, for the VPN tests and bench/vpn (run inside
 * scripts/sandbox):
 *
 *   [server S]──10.x LAN──[space gateway G]══ 203.0.113.0/24 ══[customer gateway C]──172.16 LAN──[server R]
 *    10.<n>.128.10       10.<n>.0.1   203.0.113.1, .2       203.0.113.50   172.16.0.1      172.16.0.10
 *
 * G stands in for the space's VPN gateway namespace (made by src/network in the product), S
 * for a dyno, C for the office's strongSwan gateway, R for a server at the office. The public
 * segment is a bridge in the sandbox's own namespace. Everything has a unique suffix, and
 * `destroy` removes it all.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { run } from '../../src/exec/run.js'
import type { DesiredVpnSpace } from '../../src/vpn/types.js'

export interface VpnWorld {
  suffix: string
  gateway: string
  customer: string
  server: string
  remoteServer: string
  bridge: string
  /** Our two public tunnel addresses. */
  tunnelIps: [string, string]
  customerIp: string
  spaceCidr: string
  serverIp: string
  /** The gateway's own address on the space side's LAN (inside the space CIDR). */
  gatewayLanIp: string
  remoteCidr: string
  remoteServerIp: string
  destroy(): Promise<void>
}

export async function makeVpnWorld(secondOctet = 50): Promise<VpnWorld> {
  const suffix = randomBytes(3).toString('hex')
  const w = {
    suffix,
    gateway: `vgw-${suffix}`,
    customer: `vcu-${suffix}`,
    server: `vsa-${suffix}`,
    remoteServer: `vsb-${suffix}`,
    bridge: `vpub-${suffix}`,
    tunnelIps: ['203.0.113.1', '203.0.113.2'] as [string, string],
    customerIp: '203.0.113.50',
    spaceCidr: `10.${secondOctet}.0.0/16`,
    serverIp: `10.${secondOctet}.128.10`,
    gatewayLanIp: `10.${secondOctet}.0.1`,
    remoteCidr: '172.16.0.0/16',
    remoteServerIp: '172.16.0.10',
  }
  const namespaces = [w.gateway, w.customer, w.server, w.remoteServer]
  const destroy = async () => {
    for (const ns of namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined)
    await run('ip', ['link', 'del', w.bridge]).catch(() => undefined)
  }
  // One `ip -batch` for the host, then one per namespace (a batch line cannot take `-n`).
  const scripts: Array<[string | undefined, string[]]> = [
    [
      undefined,
      [
        `link add ${w.bridge} type bridge`,
        `link set ${w.bridge} up`,
        ...namespaces.map((ns) => `netns add ${ns}`),
        // The public segment.
        `link add g${suffix} type veth peer name eth0 netns ${w.gateway}`,
        `link set g${suffix} master ${w.bridge} up`,
        `link add c${suffix} type veth peer name eth0 netns ${w.customer}`,
        `link set c${suffix} master ${w.bridge} up`,
      ],
    ],
    [
      w.gateway,
      [
        // /32s as the product adds pool addresses: deleting one (the failover test) must not
        // take the other with it, as deleting a primary /24 address does to its secondaries.
        `addr add ${w.tunnelIps[0]}/32 dev eth0`,
        `addr add ${w.tunnelIps[1]}/32 dev eth0`,
        'link set eth0 up',
        'route add 203.0.113.0/24 dev eth0',
        // The space side's LAN.
        `link add lan type veth peer name eth0 netns ${w.server}`,
        `addr add ${w.gatewayLanIp}/16 dev lan`,
        'link set lan up',
      ],
    ],
    [
      w.customer,
      [
        `addr add ${w.customerIp}/24 dev eth0`,
        'link set eth0 up',
        // The office's LAN.
        `link add lan type veth peer name eth0 netns ${w.remoteServer}`,
        'addr add 172.16.0.1/16 dev lan',
        'link set lan up',
      ],
    ],
    [
      w.server,
      [
        `addr add ${w.serverIp}/16 dev eth0`,
        'link set eth0 up',
        `route add default via ${w.gatewayLanIp}`,
      ],
    ],
    [
      w.remoteServer,
      [
        `addr add ${w.remoteServerIp}/16 dev eth0`,
        'link set eth0 up',
        'route add default via 172.16.0.1',
      ],
    ],
  ]
  try {
    for (const [ns, lines] of scripts) {
      const input = [...(ns === undefined ? [] : ['link set lo up']), ...lines].join('\n') + '\n'
      await run('ip', [...(ns === undefined ? [] : ['-n', ns]), '-batch', '-'], { input })
    }
    for (const ns of [w.gateway, w.customer])
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
  } catch (e) {
    await destroy()
    throw e
  }
  return { ...w, destroy }
}

/**
 * A TCP echo server in a namespace: every connection gets back the address it came from as
 * seen there (so a test sees any NAT on the way), then whatever it sends.
 */
export async function startEchoServer(
  netns: string,
  host: string,
  port: number,
): Promise<ChildProcess> {
  const code = `
    const net = require('node:net')
    net.createServer((s) => { s.on('error', () => {}); s.write(s.remoteAddress + '\\n'); s.pipe(s) })
      .listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', () => resolve())
    child.once('exit', (c) => reject(new Error(`echo server exited ${c}`)))
  })
  return child
}

/** Connects from a namespace and returns the address the echo server saw, or throws. */
export async function probeTcp(
  netns: string,
  host: string,
  port: number,
  timeoutMs = 2000,
): Promise<string> {
  const code = `
    const net = require('node:net')
    const s = net.connect(${port}, ${JSON.stringify(host)})
    s.setTimeout(${timeoutMs}, () => { console.error('timeout'); process.exit(2) })
    s.once('data', (d) => { process.stdout.write(String(d).split('\\n')[0]); process.exit(0) })
    s.once('error', (e) => { console.error(e.message); process.exit(1) })`
  const { stdout } = await run('ip', ['netns', 'exec', netns, process.execPath, '-e', code], {
    timeoutMs: timeoutMs + 5000,
  })
  return stdout.trim()
}

/**
 * The world's one space with one connection, `office`: both tunnel addresses of the space's
 * gateway to the customer's, the remote LAN routable, a pre-shared key per tunnel.
 */
export function officeVpnSpace(world: VpnWorld, spaceId: string): DesiredVpnSpace {
  return {
    spaceId,
    netns: world.gateway,
    spaceCidr: world.spaceCidr,
    connections: [
      {
        id: `conn-${world.suffix}`,
        name: 'office',
        ikeVersion: 1,
        routableCidrs: [world.remoteCidr],
        tunnels: world.tunnelIps.map((ip, i) => ({
          localIp: ip,
          customerIp: world.customerIp,
          psk: `${'Kx9.aZ_'.repeat(4)}abc${i}`, // 32 characters, as the API makes them
        })),
      },
    ],
  }
}
