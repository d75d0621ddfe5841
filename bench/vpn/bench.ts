/**
 * bench/vpn (see README.md): in the namespaces of test/vpn/vpn-world.ts (space gateway with
 * two tunnel addresses, customer gateway, a server behind each), with VpnHost on our side and
 * a charon configured from renderCustomerSwanctl on the customer's:
 *
 * 1. time from a connection's configuration to both tunnels UP (p50/p99 over REPS): warm (the
 *    space's charon already runs: the connection is added) and cold (the charon is started too);
 * 2. TCP round-trip latency and TCP throughput between the two servers, through the tunnel and
 *    over the same path without IPsec (plain routes between the gateways), with the ratio;
 *    and with kernel ESP where the kernel has it.
 *
 * Writes Markdown to stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { run } from '../../src/exec/run.js'
import { Charon } from '../../src/vpn/charon.js'
import { kernelHasEsp } from '../../src/vpn/kernel-esp.js'
import { renderCustomerSwanctl } from '../../src/core/vpn-config.js'
import type { TunnelStatus } from '../../src/vpn/types.js'
import { VpnHost } from '../../src/vpn/vpn-host.js'
import { waitUntil } from '../../test/helpers/wait.js'
import { makeVpnWorld, officeVpnSpace, type VpnWorld } from '../../test/vpn/vpn-world.js'

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    pings: { type: 'string', default: '2000' },
  },
})
const REPS = Number(args.reps)
const SECONDS = Number(args.seconds)
const PINGS = Number(args.pings)
const RTT_PORT = 7201
const SINK_PORT = 7202

/** Runs in the server namespace: a 1-byte echo (latency) and a sink that counts (throughput). */
const SERVER = `
const net = require('node:net')
net.createServer((s) => { s.setNoDelay(true); s.on('error', () => {}); s.on('data', (d) => s.write(d)) })
  .listen(${RTT_PORT}, process.argv[1])
net.createServer((s) => { let n = 0; s.on('error', () => {}); s.on('data', (d) => (n += d.length)); s.on('end', () => s.end(String(n))) })
  .listen(${SINK_PORT}, process.argv[1], () => console.log('ready'))`

/** Runs in the client namespace: `rtt N` prints N round-trip times (µs); `tput S` bytes/s. */
const CLIENT = `
const net = require('node:net')
const [mode, host, count] = process.argv.slice(1)
if (mode === 'rtt') {
  const s = net.connect(${RTT_PORT}, host, () => {
    s.setNoDelay(true)
    const out = []
    let t = process.hrtime.bigint()
    s.on('data', () => {
      const now = process.hrtime.bigint()
      out.push(Number(now - t) / 1000)
      if (out.length === Number(count)) { console.log(JSON.stringify(out)); process.exit(0) }
      t = process.hrtime.bigint()
      s.write('x')
    })
    s.write('x')
  })
} else {
  const chunk = Buffer.alloc(64 * 1024)
  const s = net.connect(${SINK_PORT}, host, () => {
    const start = process.hrtime.bigint()
    const until = Date.now() + Number(count) * 1000
    const pump = () => { while (Date.now() < until) { if (!s.write(chunk)) return s.once('drain', pump) } s.end() }
    let reply = ''
    s.on('data', (d) => (reply += d))
    s.on('end', () => {
      const secs = Number(process.hrtime.bigint() - start) / 1e9
      console.log(JSON.stringify({ bytes: Number(reply), secs }))
      process.exit(0)
    })
    pump()
  })
}`

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}
const fmt = (n: number, digits = 0) => n.toFixed(digits)

async function main(): Promise<void> {
  const kernelEsp = await kernelHasEsp(run)
  const world = await makeVpnWorld()
  const dataDir = mkdtempSync(join(tmpdir(), 'lsvpnb-'))
  const customerDir = mkdtempSync(join(tmpdir(), 'lsvpcb-'))
  const statuses = new Map<string, TunnelStatus>()
  const host = new VpnHost({
    dataDir,
    exec: run,
    kernelEsp,
    intervalMs: 0,
    onTunnelStatus: (s) => statuses.set(`${s.connectionId}/${s.tunnelIndex}`, s),
    onError: (e) => console.error(`[bench/vpn] ${e.message}`),
  })
  const customer = new Charon({
    spaceId: 'customer',
    netns: world.customer,
    dataDir: customerDir,
    kernelEsp,
    exec: run,
  })
  const servers: ChildProcess[] = []
  try {
    const desired = officeVpnSpace(world, `bench-${world.suffix}`)
    const conn = desired.connections[0]!
    // The path without IPsec first, before any charon holds a policy for these networks; its
    // routes go again, so that later traffic can only cross through the tunnel.
    servers.push(await startServer(world))
    await plainRoutes(world, 'add')
    const plain = await measurePath(world)
    await plainRoutes(world, 'del')
    await customer.ensureRunning()
    await customer.loadSwanctl(
      renderCustomerSwanctl({
        name: conn.name,
        space_cidr_block: desired.spaceCidr,
        ike_version: conn.ikeVersion,
        routable_cidrs: conn.routableCidrs,
        tunnels: conn.tunnels.map((t) => ({
          ip: t.localIp,
          customer_ip: t.customerIp,
          pre_shared_key: t.psk,
        })),
      }),
    )
    const bothUp = () => [...statuses.values()].filter((s) => s.status === 'UP').length === 2
    const customerIdle = async () => {
      const c = await customer.connect()
      try {
        return (await c.listSas()).length === 0
      } finally {
        c.close()
      }
    }

    // 1. Configuration → both tunnels UP.
    const timeToUp = async (cold: boolean): Promise<number[]> => {
      const samples: number[] = []
      for (let i = 0; i < REPS; i++) {
        statuses.clear()
        const started = performance.now()
        await host.converge([desired])
        await waitUntil('both tunnels UP', bothUp, { timeoutMs: 30_000, intervalMs: 2 }).catch(
          (e: Error) => {
            // What went wrong, for whoever reads the failed run.
            console.error(JSON.stringify([...statuses.values()], null, 2))
            for (const log of [
              charonLog(dataDir, desired.spaceId),
              charonLog(customerDir, 'customer'),
            ])
              console.error(logTail(log))
            throw e
          },
        )
        samples.push(performance.now() - started)
        // Back to "no connection" (warm: the charon stays; cold: it goes too), and wait until
        // the customer side has let go of every SA, so the next round starts from nothing.
        await host.converge(cold ? [] : [{ ...desired, connections: [] }])
        await waitUntil('customer idle', customerIdle, { timeoutMs: 30_000 })
      }
      return samples
    }
    await host.converge([{ ...desired, connections: [] }])
    const warm = await timeToUp(false)
    await host.converge([])
    const cold = await timeToUp(true)

    // 2. Latency and throughput through the tunnel.
    statuses.clear()
    await host.converge([desired])
    await waitUntil('both tunnels UP', bothUp, { timeoutMs: 30_000 })
    const tunnel = await measurePath(world)

    const row = (name: string, xs: number[]) =>
      `| ${name} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 99))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`
    const esp = kernelEsp ? 'kernel ESP (xfrm)' : 'userspace ESP (kernel-libipsec, UDP 4500)'
    console.log(`## bench/vpn — ${new Date().toISOString()}

Kernel ESP: **${kernelEsp ? 'present' : 'absent'}** on this kernel (${esp} measured). strongSwan ${await charonVersion(customer)}; IKEv1 main mode, PSK, aes128-sha1-modp2048, ESP aes128-sha1 with PFS.

### Configuration to both tunnels UP (${REPS} each)

| case | p50 ms | p99 ms | min ms | max ms |
|---|---|---|---|---|
${row('warm: charon running, connection added', warm)}
${row("cold: the space's charon started too", cold)}

### Through the tunnel vs the same path without IPsec

| path | RTT p50 µs | RTT p99 µs | TCP MB/s |
|---|---|---|---|
| plain (routes between the gateways, no IPsec) | ${fmt(pct(plain.rtt, 50))} | ${fmt(pct(plain.rtt, 99))} | ${fmt(plain.mbps, 1)} |
| tunnel (${esp}) | ${fmt(pct(tunnel.rtt, 50))} | ${fmt(pct(tunnel.rtt, 99))} | ${fmt(tunnel.mbps, 1)} |
| ratio tunnel / plain | ${fmt(pct(tunnel.rtt, 50) / pct(plain.rtt, 50), 2)}× | ${fmt(pct(tunnel.rtt, 99) / pct(plain.rtt, 99), 2)}× | ${fmt(tunnel.mbps / plain.mbps, 3)}× |

${kernelEsp ? '' : 'Kernel ESP: not measured — this kernel has no ESP (ip xfrm state add … proto esp answers "Requested type not found").\n'}Latency: ${PINGS} sequential 1-byte TCP round trips between the servers behind the gateways. Throughput: one TCP stream for ${SECONDS} s, counted by the receiver.`)
  } finally {
    for (const s of servers) s.kill('SIGKILL')
    await host.stopAll()
    await customer.stop()
    await world.destroy()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(customerDir, { recursive: true, force: true })
  }
}

/** The same path without IPsec: each gateway routes the other's LAN over the public segment. */
async function plainRoutes(world: VpnWorld, op: 'add' | 'del'): Promise<void> {
  await run('ip', ['-n', world.gateway, 'route', op, world.remoteCidr, 'via', world.customerIp])
  await run('ip', ['-n', world.customer, 'route', op, world.spaceCidr, 'via', world.tunnelIps[1]])
}

async function startServer(world: VpnWorld): Promise<ChildProcess> {
  const child = spawn(
    'ip',
    ['netns', 'exec', world.server, process.execPath, '-e', SERVER, world.serverIp],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', () => resolve())
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)))
  })
  return child
}

async function measurePath(world: VpnWorld): Promise<{ rtt: number[]; mbps: number }> {
  const client = (mode: string, n: number) =>
    run(
      'ip',
      [
        'netns',
        'exec',
        world.remoteServer,
        process.execPath,
        '-e',
        CLIENT,
        mode,
        world.serverIp,
        String(n),
      ],
      { timeoutMs: 120_000 },
    )
  const rtt = JSON.parse((await client('rtt', PINGS)).stdout) as number[]
  const t = JSON.parse((await client('tput', SECONDS)).stdout) as { bytes: number; secs: number }
  return { rtt: rtt.slice(Math.floor(rtt.length / 10)), mbps: t.bytes / t.secs / 1e6 }
}

const charonLog = (dir: string, id: string) => join(dir, 'vpn', id, 'charon.log')

function logTail(file: string): string {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  return `${file}:\n${text.split('\n').slice(-30).join('\n')}`
}

async function charonVersion(charon: Charon): Promise<string> {
  const c = await charon.connect()
  try {
    const { version } = await c.version()
    return typeof version === 'string' ? version : '?'
  } finally {
    c.close()
  }
}

await main()
