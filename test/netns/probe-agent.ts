/**
 * A long-lived probe agent for the truth-table test (truth-table.netns.test.ts), started once
 * per network namespace or on the host, so that the matrix needs no process per probe. The test
 * transpiles it to plain JavaScript and runs `ip netns exec NS node probe-agent.mjs`; it
 * imports only node: modules for that reason. One JSON command a line on stdin, one JSON
 * answer a line on stdout with the same id; commands run concurrently:
 *
 *   {"id": 1, "ping": true}                                  → {"id": 1, "ok": true}
 *   {"id": 2, "serve": {"proto": "tcp"|"udp", "host": "10.0.128.1", "port": 9000}}
 *                                                            → {"id": 2, "ok": true}
 *     an echo server whose every reply is the peer's address as seen here (after any NAT)
 *   {"id": 3, "proto": "tcp"|"udp", "host": "…", "port": 9000, "timeoutMs": 400, "from"?: "…"}
 *                                                            → {"id": 3, "ok": true, "seenAs": "…"}
 *     a probe: TCP connects and reads the echo, UDP sends (a few times) and waits for one;
 *     `from` binds the client socket to that local address (spoofing checks); with
 *     `"connectOnly": true` a TCP connection is success enough (servers that wait for a
 *     request); UDP datagrams carry `"marker"` when one is given
 *   {"id": 4, "received": "m1"}                              → {"id": 4, "ok": true, "peers": […]}
 *     the source addresses that datagrams marked "m1" reached this agent's UDP servers from:
 *     what a one-way (spoofed) packet leaves behind, since its answer never comes back
 *
 * Failures answer {"id", "ok": false, "error"}. It exits when stdin closes.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect, createServer, type Server } from 'node:net'
import { createInterface } from 'node:readline'

export type Proto = 'tcp' | 'udp'

export interface ServeCommand {
  proto: Proto
  host: string
  port: number
}

export interface ProbeCommand {
  proto: Proto
  host: string
  port: number
  timeoutMs: number
  from?: string
  /** TCP only: success is the connection itself (for servers that do not speak first). */
  connectOnly?: boolean
  /** UDP only: a word the datagrams carry, so the receiving agent can tell they arrived. */
  marker?: string
  /** UDP only: send a DNS query instead (the daemon's DNS server answers any well-formed one). */
  dns?: boolean
}

export interface AgentReply {
  ok: boolean
  seenAs?: string
  error?: string
  /** For `received`: the source addresses that datagrams with the marker came from. */
  peers?: string[]
}

type Command = { id: number } & (
  { ping: true } | { serve: ServeCommand } | { received: string } | ProbeCommand
)

/** Marker → source addresses of the marked datagrams this agent's UDP servers received. */
const received = new Map<string, Set<string>>()

const write = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`)
const unmapped = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '')
const codeOf = (e: unknown) =>
  (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))

function serveTcp(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on('error', () => {})
      socket.end(`${unmapped(socket.remoteAddress)}\n`)
    })
    server.once('error', reject)
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

function serveUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.on('message', (message, peer) => {
      const marker = /^mark:(\S+)/.exec(message.toString())?.[1]
      if (marker) received.set(marker, (received.get(marker) ?? new Set()).add(peer.address))
      socket.send(`${peer.address}\n`, peer.port, peer.address, () => {})
    })
    socket.once('error', reject)
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject)
      socket.on('error', () => {})
      resolve(socket)
    })
  })
}

function probeTcp({ host, port, timeoutMs, from, connectOnly }: ProbeCommand): Promise<AgentReply> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(from ? { localAddress: from } : {}) })
    let got = ''
    let settled = false
    const finish = (reply: AgentReply) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(reply)
    }
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs)
    socket.setEncoding('utf8')
    if (connectOnly) socket.on('connect', () => finish({ ok: true }))
    socket.on('data', (d: string) => {
      got += d
      if (got.includes('\n')) finish({ ok: true, seenAs: got.trim() })
    })
    socket.on('end', () =>
      finish(got ? { ok: true, seenAs: got.trim() } : { ok: false, error: 'closed' }),
    )
    socket.on('error', (e) => finish({ ok: false, error: codeOf(e) }))
  })
}

/** A DNS query for `probe.app.localspace` A (id 0x6c73, RD): any answer means it got through. */
const DNS_QUERY = Buffer.from(
  '6c7301000001000000000000' + '0570726f6265036170700a6c6f63616c737061636500' + '00010001',
  'hex',
)

function probeUdp({ host, port, timeoutMs, from, marker, dns }: ProbeCommand): Promise<AgentReply> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    let settled = false
    let resend: NodeJS.Timeout | undefined
    const finish = (reply: AgentReply) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearInterval(resend)
      socket.close()
      resolve(reply)
    }
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs)
    socket.on('error', (e) => finish({ ok: false, error: codeOf(e) }))
    socket.on('message', (message) => finish({ ok: true, seenAs: message.toString().trim() }))
    socket.bind({ address: from ?? '0.0.0.0', port: 0 }, () => {
      socket.connect(port, host, () => {
        // A datagram may be lost (a neighbour still being resolved): send a few.
        const send = () => {
          if (settled) return
          socket.send(dns ? DNS_QUERY : marker ? `mark:${marker}` : 'probe', () => {})
        }
        send()
        resend = setInterval(send, 100)
      })
    })
  })
}

async function handle(command: Command): Promise<AgentReply> {
  if ('ping' in command) return { ok: true }
  if ('received' in command) return { ok: true, peers: [...(received.get(command.received) ?? [])] }
  if ('serve' in command) {
    const { proto, host, port } = command.serve
    await (proto === 'udp' ? serveUdp(host, port) : serveTcp(host, port))
    return { ok: true }
  }
  return command.proto === 'udp' ? probeUdp(command) : probeTcp(command)
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  let command: Command
  try {
    command = JSON.parse(line) as Command
  } catch {
    return
  }
  handle(command).then(
    (reply) => write({ id: command.id, ...reply }),
    (e: unknown) => write({ id: command.id, ok: false, error: codeOf(e) }),
  )
})
lines.on('close', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
