/**
 * A small vici client (there is no npm one): one Unix socket to one charon, commands one at a
 * time (the protocol has no request ids, so a second command waits for the first's answer),
 * events at any time. Wire format: vici-codec.ts.
 *
 * A timed-out exchange closes the connection: its late answer would otherwise be taken for the
 * next command's. Callers reconnect (the tunnel watcher does).
 */
import { EventEmitter } from 'node:events'
import { connect, type Socket } from 'node:net'
import {
  decodePacket,
  encodePacket,
  PacketType,
  ViciFrameReader,
  type ViciMessage,
  type ViciPacket,
} from './vici-codec.js'

export type { ViciMessage, ViciValue } from './vici-codec.js'

/** charon answered `success = no`, or does not know the command or event. */
export class ViciCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errmsg: string,
  ) {
    super(`vici ${command}: ${errmsg}`)
    this.name = 'ViciCommandError'
  }
}

export type ViciEventHandler = (message: ViciMessage, event: string) => void

interface Exchange {
  packet: ViciPacket
  /** What answers it: a command response or an event (un)registration confirmation. */
  answer: 'command' | 'event'
  label: string
  timeoutMs: number
  resolve(packet: ViciPacket): void
  reject(error: Error): void
}

const DEFAULT_TIMEOUT_MS = 10_000

export class ViciClient extends EventEmitter<{ close: [Error | undefined] }> {
  private readonly frames = new ViciFrameReader()
  private readonly queue: Exchange[] = []
  private active: { exchange: Exchange; timer: NodeJS.Timeout } | undefined
  private readonly handlers = new Map<string, Set<ViciEventHandler>>()
  private closed: Error | undefined

  private constructor(private readonly socket: Socket) {
    super()
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (e) => this.fail(e))
    socket.on('close', () => this.fail(new Error('vici connection closed')))
  }

  /** Connects to a charon's vici socket (`plugins.vici.socket`, a Unix socket path). */
  static connect(socketPath: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ViciClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`vici: connecting to ${socketPath} timed out`))
      }, timeoutMs)
      socket.once('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        resolve(new ViciClient(socket))
      })
    })
  }

  get isClosed(): boolean {
    return this.closed !== undefined
  }

  close(): void {
    this.socket.destroy()
    this.fail(new Error('vici connection closed by us'))
  }

  /**
   * Sends a command and returns charon's response. A response with `success = no` and an
   * unknown command are errors (ViciCommandError).
   */
  async request(
    command: string,
    message: ViciMessage = {},
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ViciMessage> {
    const answer = await this.exchange(
      { type: PacketType.CMD_REQUEST, name: command, message },
      'command',
      command,
      timeoutMs,
    )
    if (answer.type === PacketType.CMD_UNKNOWN)
      throw new ViciCommandError(command, 'unknown command')
    const response = answer.message ?? {}
    if (response.success === 'no')
      throw new ViciCommandError(command, stringOf(response.errmsg) || 'failed')
    return response
  }

  /**
   * A command whose results stream as `event`s before its response (list-sas → list-sa):
   * registers for the event, runs the command, unregisters, and returns the events in order.
   */
  async streamed(
    command: string,
    event: string,
    message: ViciMessage = {},
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ViciMessage[]> {
    const events: ViciMessage[] = []
    const collect: ViciEventHandler = (m) => events.push(m)
    await this.subscribe(event, collect)
    try {
      await this.request(command, message, timeoutMs)
    } finally {
      await this.unsubscribe(event, collect).catch(() => undefined)
    }
    return events
  }

  /** Calls `handler` for every `event` charon raises from now on (registers once per name). */
  async subscribe(event: string, handler: ViciEventHandler): Promise<void> {
    let set = this.handlers.get(event)
    if (set === undefined) {
      set = new Set()
      this.handlers.set(event, set)
      try {
        await this.register(PacketType.EVENT_REGISTER, event)
      } catch (e) {
        this.handlers.delete(event)
        throw e
      }
    }
    set.add(handler)
  }

  async unsubscribe(event: string, handler: ViciEventHandler): Promise<void> {
    const set = this.handlers.get(event)
    if (set === undefined || !set.delete(handler) || set.size > 0) return
    this.handlers.delete(event)
    await this.register(PacketType.EVENT_UNREGISTER, event)
  }

  // ------------------------------------------------------------ the commands localspace uses

  version(): Promise<ViciMessage> {
    return this.request('version')
  }

  stats(): Promise<ViciMessage> {
    return this.request('stats')
  }

  /** Loads or replaces one connection (a swanctl.conf `connections.<name>` section). */
  async loadConn(name: string, connection: ViciMessage): Promise<void> {
    await this.request('load-conn', { [name]: connection })
  }

  async unloadConn(name: string): Promise<void> {
    await this.request('unload-conn', { name })
  }

  /** Names of the connections loaded over vici. */
  async getConns(): Promise<string[]> {
    const conns = (await this.request('get-conns')).conns
    return Array.isArray(conns) ? conns : []
  }

  /** A pre-shared key for the given identities; `id` names it for unload-shared. */
  async loadShared(secret: { id?: string; data: string; owners: string[] }): Promise<void> {
    const message: ViciMessage = { type: 'IKE', data: secret.data, owners: secret.owners }
    if (secret.id !== undefined) message.id = secret.id
    await this.request('load-shared', message)
  }

  async unloadShared(id: string): Promise<void> {
    await this.request('unload-shared', { id })
  }

  async clearCreds(): Promise<void> {
    await this.request('clear-creds')
  }

  /** Initiates a CHILD_SA (and its IKE_SA); `timeoutMs` -1 returns at once. */
  async initiate(child: string, ike?: string, timeoutMs = 5000): Promise<void> {
    const message: ViciMessage = { child, timeout: String(timeoutMs) }
    if (ike !== undefined) message.ike = ike
    await this.request('initiate', message, Math.max(timeoutMs, 0) + DEFAULT_TIMEOUT_MS)
  }

  /** Terminates IKE_SAs by connection name or by unique id (and their CHILD_SAs). */
  async terminate(which: { ike?: string; ikeId?: string }, timeoutMs = 5000): Promise<void> {
    const message: ViciMessage = { timeout: String(timeoutMs) }
    if (which.ike !== undefined) message.ike = which.ike
    if (which.ikeId !== undefined) message['ike-id'] = which.ikeId
    await this.request('terminate', message, Math.max(timeoutMs, 0) + DEFAULT_TIMEOUT_MS)
  }

  /**
   * The IKE_SAs, one `{ <conn name>: {…, child-sas: {…}} }` per SA (list-sa events). Blocking
   * (no `noblock`): an SA that charon is working on is listed once it is done with it, rather
   * than left out — and the SA an up/down event is about is exactly such an SA.
   */
  listSas(filter: { ike?: string } = {}): Promise<ViciMessage[]> {
    const message: ViciMessage = {}
    if (filter.ike !== undefined) message.ike = filter.ike
    return this.streamed('list-sas', 'list-sa', message)
  }

  // ------------------------------------------------------------ plumbing

  private async register(type: PacketType, event: string): Promise<void> {
    const answer = await this.exchange({ type, name: event }, 'event', event, DEFAULT_TIMEOUT_MS)
    if (answer.type === PacketType.EVENT_UNKNOWN)
      throw new ViciCommandError(`event ${event}`, 'unknown event')
  }

  private exchange(
    packet: ViciPacket,
    answer: Exchange['answer'],
    label: string,
    timeoutMs: number,
  ): Promise<ViciPacket> {
    if (this.closed) return Promise.reject(this.closed)
    return new Promise((resolve, reject) => {
      this.queue.push({ packet, answer, label, timeoutMs, resolve, reject })
      this.next()
    })
  }

  private next(): void {
    if (this.active || this.closed) return
    const exchange = this.queue.shift()
    if (exchange === undefined) return
    const timer = setTimeout(() => {
      this.socket.destroy()
      this.fail(new Error(`vici ${exchange.label}: no answer within ${exchange.timeoutMs} ms`))
    }, exchange.timeoutMs)
    this.active = { exchange, timer }
    this.socket.write(encodePacket(exchange.packet))
  }

  private onData(chunk: Buffer): void {
    try {
      for (const frame of this.frames.push(chunk)) this.onPacket(decodePacket(frame))
    } catch (e) {
      // Garbage on the wire: nothing after it can be trusted.
      this.socket.destroy()
      this.fail(e as Error)
    }
  }

  private onPacket(packet: ViciPacket): void {
    if (packet.type === PacketType.EVENT) {
      for (const handler of this.handlers.get(packet.name ?? '') ?? [])
        handler(packet.message ?? {}, packet.name ?? '')
      return
    }
    const kind =
      packet.type === PacketType.CMD_RESPONSE || packet.type === PacketType.CMD_UNKNOWN
        ? 'command'
        : packet.type === PacketType.EVENT_CONFIRM || packet.type === PacketType.EVENT_UNKNOWN
          ? 'event'
          : undefined
    const active = this.active
    if (kind === undefined || active === undefined || active.exchange.answer !== kind)
      throw new Error(`vici: unexpected packet of type ${packet.type}`)
    clearTimeout(active.timer)
    this.active = undefined
    active.exchange.resolve(packet)
    this.next()
  }

  private fail(error: Error): void {
    if (this.closed) return
    this.closed = error
    if (this.active) {
      clearTimeout(this.active.timer)
      this.active.exchange.reject(error)
      this.active = undefined
    }
    for (const exchange of this.queue.splice(0)) exchange.reject(error)
    this.emit('close', error)
  }
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : ''
}
