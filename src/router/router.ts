/**
 * The router (docs/design.md §6): public listeners for every non-internal app, one internal
 * listener per space (C.0.3, ports 80 and 443) for its internal-routing apps, admission by the
 * space's trusted IP ranges before any byte goes to a dyno, and a random pick among the app's
 * `up` web dynos with at most 50 requests in flight each (more wait in the app's queue; H11
 * when that is full). Before any of that, a cap on open connections per source address.
 * WebSocket tunnels (a 101 from the dyno) stay only while their source is admitted. HTTP/1 is served by the router's own server (http1-server.ts), HTTP/2
 * (TLS listeners that negotiate h2) by Node's; both reach `handle` as a ClientExchange.
 *
 * Lifecycle: `new Router(options)`, feed `router.routes` (routing-table.ts), `await start()`,
 * `await close()`. RouterWorkers (workers.ts) runs Routers in worker processes instead.
 */
import { createServer as createH2Server, type Http2Server } from 'node:http2'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { DynoPool, type DynoConnection } from './dyno-pool.js'
import type { ClientExchange } from './exchange.js'
import { Forward, requestFields, type ForwardFacts, type ForwardHost } from './forward.js'
import {
  APPLICATION_ERROR_PAGE,
  BAD_REQUEST_PAGE,
  FORBIDDEN_PAGE,
  NO_SUCH_APP_PAGE,
  requestIdFor,
  ROUTER_ERRORS,
  routerLogLine,
  type RouterErrorCode,
} from './heroku.js'
import type { RefusedRequest } from './http1-parser.js'
import { Http1Server } from './http1-server.js'
import { Http2Exchange } from './http2-exchange.js'
import {
  insideSpace,
  RoutingTable,
  type AppRoute,
  type RouteUpdates,
  type RouterDyno,
} from './routing-table.js'
import { RefusalReport, SourceLimit } from './source-limit.js'
import { clientIpv4 } from './trusted-ranges.js'
import { Tunnel } from './tunnel.js'
import { WatchList } from './watch-list.js'

export interface RouterListen {
  host: string
  port: number
  /** HTTPS (and HTTP/2 by ALPN) with the router's certificate; needs `tls`. */
  tls?: boolean
}

export interface RouterOptions {
  /** Apps are reached at `<app>.<domain>`. */
  domain: string
  /** Public listeners (`--router-listen`). */
  listen: readonly RouterListen[]
  /** Default certificate for HTTPS listeners (`--tls-cert`, `--tls-key`, PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer }
  /** Router log lines go to the app's log: `logs.append(appId, {source:'heroku', dyno:'router', text})`. */
  log: (appId: string, text: string) => void
  /** Problems with no app to blame (a bind that keeps failing): the daemon's own log. */
  warn?: (text: string) => void
  /** Ports of the internal listeners (80 and 443 in production; tests may move them). */
  internalPorts?: { http: number; https: number }
  timeouts?: Partial<RouterTimeouts>
  limits?: Partial<RouterLimits>
}

export interface RouterTimeouts {
  /** No response head this long after the request arrived: 503 H12. */
  firstByteMs: number
  /** No byte either way this long while the response streams: H15. */
  idleMs: number
  /** The whole request head must arrive within this (slowloris clients are cut). */
  headersMs: number
  /** A kept-alive client connection with no request is closed after this. */
  keepAliveMs: number
  /** How often the timeouts above are checked (each fires up to this much late). */
  checkEveryMs: number
  /** Retry binding an internal listener whose address is not up yet. */
  bindRetryMs: number
  /** Refusals with no app to log them to go to `warn` as one line per kind this often. */
  refusalReportMs: number
}

export interface RouterLimits {
  maxInflightPerDyno: number
  /** Requests waiting for a dyno, per app; beyond it: 503 H11. */
  maxQueuePerApp: number
  /** Request head (request line and headers) size limit; beyond it: 400 H25. */
  maxHeaderBytes: number
  /** Kept-alive idle connections per dyno. */
  maxIdlePerDyno: number
  /**
   * Open connections per source address (per router process: with router workers, each has
   * its own count); more are closed as they are accepted.
   */
  maxConnectionsPerSource: number
}

const DEFAULT_TIMEOUTS: RouterTimeouts = {
  firstByteMs: 30_000,
  idleMs: 55_000,
  headersMs: 10_000,
  keepAliveMs: 90_000,
  checkEveryMs: 1_000,
  bindRetryMs: 1_000,
  refusalReportMs: 10_000,
}

const DEFAULT_LIMITS: RouterLimits = {
  maxInflightPerDyno: 50,
  maxQueuePerApp: 1_000,
  // Near llhttp's (Node's 16 KiB), with room for large cookies. Heroku's Private Spaces router
  // takes single headers up to 512 KB; a head that large is held, before anything is known of
  // its sender, by every connection that sends one, so it is an option, not the default.
  maxHeaderBytes: 64 * 1024,
  maxIdlePerDyno: 64,
  // Browsers open 6 per host; a NAT of many clients, or WebSockets, more.
  maxConnectionsPerSource: 256,
}

interface ListenerInfo {
  kind: 'public' | 'internal'
  /** The space an internal listener serves. */
  spaceId?: string
  protocol: 'http' | 'https'
  port: number
}

/**
 * One bound address: a TCP (or TLS) server, its HTTP/1 server and, for TLS, an HTTP/2 one for
 * the connections that negotiate h2; every socket it accepted, to close them all at the end.
 */
interface Listener {
  server: Server
  http1: Http1Server
  sockets: Set<Socket>
}

interface InternalListener {
  address: string
  listeners: Listener[]
  bound: boolean
  retry?: NodeJS.Timeout | undefined
}

/**
 * A router as the daemon drives it: in its own process (Router) or in worker processes, one
 * per core (RouterWorkers, workers.ts).
 */
export interface RouterService {
  /** Where the feed pushes apps, dynos and spaces. */
  readonly routes: RouteUpdates
  start(): Promise<void>
  close(): Promise<void>
  /** Where the public listeners are (ports resolved when 0 was asked for). */
  addresses(): RouterListen[]
  /**
   * Calls `fn` once every update given to `routes` so far is in force for new requests; never
   * when no router process holds them (closed, or every worker down).
   */
  afterApplied(fn: () => void): void
}

export class Router implements ForwardHost, RouterService {
  readonly table: RoutingTable
  readonly firstByteMs: number
  readonly idleMs: number
  private readonly timeouts: RouterTimeouts
  private readonly limits: RouterLimits
  private readonly publicServers: { listener: Listener; listen: RouterListen }[] = []
  private readonly internal = new Map<string, InternalListener>()
  /** Connections to dynos by `address:port`, shared by the dyno entries of every update. */
  private readonly pools = new Map<string, DynoPool>()
  private readonly poolOfDyno = new WeakMap<RouterDyno, DynoPool>()
  private readonly queues = new Map<string, Forward[]>()
  /** Open WebSocket tunnels, and what admitted each (checked again when a ruleset changes). */
  private readonly tunnels = new Map<Tunnel, { appId: string; internal: boolean; source: string }>()
  private readonly perSource: SourceLimit
  /** Refusals that have no app's log: the daemon's, one line per kind and interval. */
  private readonly refusals: RefusalReport
  /** Requests under way, their timeouts checked every `checkEveryMs`. */
  private readonly watched = new WatchList<Forward>()
  private readonly sweep: NodeJS.Timeout
  private readonly stopWatching: () => void
  private closed = false
  private started = false

  constructor(private readonly options: RouterOptions) {
    this.table = new RoutingTable(options.domain)
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
    this.limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.firstByteMs = this.timeouts.firstByteMs
    this.idleMs = this.timeouts.idleMs
    this.perSource = new SourceLimit(this.limits.maxConnectionsPerSource)
    this.refusals = new RefusalReport(
      (text) => this.options.warn?.(text),
      this.timeouts.refusalReportMs,
    )
    this.stopWatching = this.table.onChange(() => this.tableChanged())
    this.sweep = setInterval(() => {
      const now = Date.now()
      this.watched.forEach((forward) => forward.tick(now))
    }, this.timeouts.checkEveryMs)
    this.sweep.unref()
  }

  /** Binds the public listeners; rejects if one cannot be bound. */
  async start(): Promise<void> {
    for (const listen of this.options.listen) {
      const info: ListenerInfo = {
        kind: 'public',
        protocol: listen.tls ? 'https' : 'http',
        port: listen.port,
      }
      const listener = this.makeListener(info)
      await bind(listener.server, listen.host, listen.port)
      const port = (listener.server.address() as { port: number }).port
      info.port = port
      this.publicServers.push({ listener, listen: { ...listen, port } })
    }
    this.started = true
    this.tableChanged()
  }

  get routes(): RouteUpdates {
    return this.table
  }

  /** Updates take effect as they are made (the table is this process's own), until closed. */
  afterApplied(fn: () => void): void {
    if (!this.closed) fn()
  }

  addresses(): RouterListen[] {
    return this.publicServers.map((s) => s.listen)
  }

  /** Is the internal listener of the space bound (its C.0.3 address exists)? */
  internalBound(spaceId: string): boolean {
    return this.internal.get(spaceId)?.bound ?? false
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.sweep)
    this.stopWatching()
    const listeners = [
      ...this.publicServers.map((s) => s.listener),
      ...[...this.internal.values()].flatMap((l) => {
        if (l.retry) clearTimeout(l.retry)
        return l.listeners
      }),
    ]
    for (const pool of this.pools.values()) pool.close()
    for (const tunnel of this.tunnels.keys()) tunnel.close()
    this.refusals.flush()
    await Promise.all(listeners.map((l) => closeListener(l)))
  }

  log(appId: string, text: string): void {
    this.options.log(appId, text)
  }

  // --- request handling ------------------------------------------------------------------------

  private handle(info: ListenerInfo, client: ClientExchange): void {
    const route = this.table.routeForHost(client.host)
    if (!route || !serves(info, route)) {
      client.sendPage(404, NO_SUCH_APP_PAGE)
      return
    }
    const facts = this.factsFor(info, route, client)
    if (info.kind === 'public' && !admitted(route, client.remoteAddress)) {
      const desc = 'Source not in trusted IP ranges'
      client.sendPage(403, FORBIDDEN_PAGE)
      this.logRefusal(facts, client, 403, '', undefined, desc)
      return
    }
    if (route.dynos.length === 0) {
      const code = route.health === 'crashed' ? 'H10' : 'H14'
      client.sendPage(ROUTER_ERRORS[code].status, APPLICATION_ERROR_PAGE)
      this.logRefusal(facts, client, ROUTER_ERRORS[code].status, '', code)
      return
    }
    const forward = new Forward(this, client, facts)
    const picked = this.pick(route)
    if (picked) {
      forward.dispatch(picked.dyno, picked.pool)
      return
    }
    let queue = this.queues.get(route.app.id)
    if (!queue) this.queues.set(route.app.id, (queue = []))
    if (queue.length >= this.limits.maxQueuePerApp) forward.fail('H11')
    else queue.push(forward)
  }

  private factsFor(
    info: ListenerInfo,
    route: AppRoute,
    client: { host: string; remoteAddress: string; rawHeaders: readonly string[] },
  ): ForwardFacts {
    const fields = requestFields(client.rawHeaders)
    const source = client.remoteAddress
    return {
      route,
      receivedAt: Date.now(),
      requestId: requestIdFor(fields.requestId),
      fwd: fields.forwardedFor ? `${fields.forwardedFor}, ${source}` : source,
      protocol: info.protocol,
      port: info.port,
      internal: info.kind === 'internal',
      host: client.host,
      fields: fields.fields,
      via: fields.via,
    }
  }

  /** The router log line of a request that never reached a dyno (or a tunnel's). */
  private logRefusal(
    facts: ForwardFacts,
    client: { method: string; url: string },
    status: number,
    dyno: string,
    code?: RouterErrorCode,
    desc?: string,
    serviceMs = 0,
  ): void {
    this.log(
      facts.route.app.id,
      routerLogLine({
        code,
        desc,
        method: client.method,
        path: client.url,
        host: facts.host,
        requestId: facts.requestId,
        fwd: facts.fwd,
        dyno,
        connectMs: 0,
        serviceMs,
        status,
        bytes: 0,
        protocol: facts.protocol,
      }),
    )
  }

  /** A random `up` web dyno with room for one more request, and its pool. */
  private pick(route: AppRoute): { dyno: RouterDyno; pool: DynoPool } | undefined {
    const dynos = route.dynos
    const n = dynos.length
    const first = n === 1 ? 0 : Math.floor(Math.random() * n)
    for (let i = 0; i < n; i++) {
      const dyno = dynos[(first + i) % n]!
      const pool = this.poolFor(dyno)
      if (pool.inflight < this.limits.maxInflightPerDyno) return { dyno, pool }
    }
    return undefined
  }

  private poolFor(dyno: RouterDyno): DynoPool {
    // By the dyno's own object first: no key string to build and hash per request.
    let pool = this.poolOfDyno.get(dyno)
    if (pool && !pool.closed) return pool
    const key = `${dyno.address}:${dyno.port}`
    pool = this.pools.get(key)
    if (!pool) {
      pool = new DynoPool(
        dyno.address,
        dyno.port,
        this.limits.maxIdlePerDyno,
        this.limits.maxHeaderBytes,
      )
      this.pools.set(key, pool)
    }
    this.poolOfDyno.set(dyno, pool)
    return pool
  }

  watch(forward: Forward): void {
    this.watched.add(forward)
  }

  /** A request left its dyno (or its queue): queued requests of the app may go now. */
  released(forward: Forward): void {
    this.watched.delete(forward)
    const queue = this.queues.get(forward.appId)
    if (!queue || queue.length === 0) return
    if (forward.dyno === undefined) {
      const i = queue.indexOf(forward)
      if (i >= 0) queue.splice(i, 1)
    }
    this.drain(forward.appId, queue)
  }

  private drain(appId: string, queue: Forward[]): void {
    const route = this.table.route(appId)
    while (queue.length > 0) {
      if (!route || route.dynos.length === 0) {
        const code = route?.health === 'crashed' ? 'H10' : 'H14'
        for (const f of queue.splice(0)) f.fail(code)
        return
      }
      const picked = this.pick(route)
      if (!picked) return
      queue.shift()!.dispatch(picked.dyno, picked.pool)
    }
  }

  // --- tunnels (WebSocket) and refusals --------------------------------------------------------

  /** The dyno answered an upgrade with 101: bytes go both ways until either side closes. */
  tunnel(forward: Forward, client: { socket: Socket; rest: Buffer }, conn: DynoConnection): void {
    if (this.closed) {
      client.socket.destroy()
      conn.socket.destroy()
      return
    }
    const admittedBy = {
      appId: forward.appId,
      internal: forward.facts.internal,
      source: client.socket.remoteAddress ?? '',
    }
    const tunnel = new Tunnel(client.socket, client.rest, conn, () => this.tunnels.delete(tunnel))
    this.tunnels.set(tunnel, admittedBy)
  }

  /**
   * Tunnels whose source the current table no longer admits (a new ruleset, the app gone from
   * the listener, the space removed) are closed: a WebSocket opened while its source was
   * trusted does not outlive the trust.
   */
  private closeDeniedTunnels(): void {
    for (const [tunnel, { appId, internal, source }] of this.tunnels) {
      const route = this.table.route(appId)
      const ip = clientIpv4(source)
      const stillAdmitted =
        route !== undefined &&
        (internal
          ? route.app.internalRouting &&
            route.space !== undefined &&
            ip !== undefined &&
            insideSpace(route.space, ip)
          : !route.app.internalRouting && admitted(route, source))
      if (!stillAdmitted) tunnel.close()
    }
  }

  /** A head refused for its size (400): Heroku's H25 in the log of the app it names. */
  private tooLarge(info: ListenerInfo, request: RefusedRequest, source: string): void {
    const route = this.table.routeForHost(request.host)
    if (!route || !serves(info, route)) {
      this.refusals.add('oversized request heads (no app named)', source)
      return
    }
    const facts = this.factsFor(info, route, {
      host: request.host,
      remoteAddress: source,
      rawHeaders: [],
    })
    const desc = 'HTTP restriction: oversized header'
    this.logRefusal(facts, request, 400, '', 'H25', desc)
  }

  // --- listeners -------------------------------------------------------------------------------

  /**
   * A listener: TCP with the router's HTTP/1 server, or TLS (the app's certificate by SNI,
   * else the listener's own) handing h2 connections to Node's HTTP/2 server and http/1.1 ones
   * to the same HTTP/1 server.
   */
  private makeListener(info: ListenerInfo): Listener {
    const t = this.timeouts
    const http1 = new Http1Server(
      {
        maxHeaderBytes: this.limits.maxHeaderBytes,
        headersTimeoutMs: t.headersMs,
        keepAliveTimeoutMs: t.keepAliveMs,
        checkEveryMs: t.checkEveryMs,
        badRequestPage: BAD_REQUEST_PAGE,
      },
      {
        request: (exchange) => this.handle(info, exchange),
        tooLarge: (request, source) => this.tooLarge(info, request, source),
      },
    )
    let server: Server
    if (info.protocol === 'https') {
      const tls = this.options.tls
      if (!tls) throw new Error('an HTTPS listener needs a certificate (--tls-cert, --tls-key)')
      const h2: Http2Server = createH2Server(
        { maxSessionMemory: 64, settings: { maxHeaderListSize: this.limits.maxHeaderBytes } },
        (req, res) => this.handle(info, new Http2Exchange(req, res)),
      )
      server = createTlsServer(
        {
          cert: tls.cert,
          key: tls.key,
          ALPNProtocols: ['h2', 'http/1.1'],
          // The app's certificate for the name, else the listener's own (--tls-cert).
          SNICallback: (name, cb) => cb(null, this.table.certificateFor(name)),
        },
        (socket: TLSSocket) => {
          if (socket.alpnProtocol === 'h2') h2.emit('connection', socket)
          else http1.serve(socket)
        },
      )
      server.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy())
    } else {
      server = createTcpServer({ noDelay: true })
    }
    const sockets = new Set<Socket>()
    // Registered before TLS's own handler: a source turned away never starts a handshake.
    server.prependListener('connection', (socket: Socket) => {
      const source = socket.remoteAddress ?? ''
      if (!this.perSource.admit(source)) {
        this.refusals.add(
          `connections over the cap of ${this.limits.maxConnectionsPerSource} per source`,
          source,
        )
        return void socket.destroy()
      }
      socket.on('close', () => this.perSource.release(source))
      if (info.kind === 'internal') {
        // Only sources inside the space (or its VPN and peer networks), before any byte is read.
        const space = this.table.space(info.spaceId!)
        const ip = clientIpv4(socket.remoteAddress)
        if (!space || ip === undefined || !insideSpace(space, ip)) return void socket.destroy()
      }
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      if (info.protocol === 'http') http1.serve(socket)
    })
    return { server, http1, sockets }
  }

  /** Spaces or dynos changed: bind or drop internal listeners, close unused pools, drain. */
  private tableChanged(): void {
    if (this.closed) return
    const spaces = new Map([...this.table.allSpaces()].map((s) => [s.space.id, s.space]))
    for (const [id, listener] of this.internal) {
      if (spaces.get(id)?.internalAddress !== listener.address) {
        this.internal.delete(id)
        if (listener.retry) clearTimeout(listener.retry)
        for (const l of listener.listeners) void closeListener(l)
      }
    }
    if (this.started) {
      for (const [id, space] of spaces) {
        if (!this.internal.has(id)) this.bindInternal(id, space.internalAddress)
      }
    }
    for (const [appId, queue] of this.queues) {
      if (queue.length > 0) this.drain(appId, queue)
      else this.queues.delete(appId)
    }
    this.closeDeniedTunnels()
    this.closeDepartedPools()
  }

  /** Pools of dynos no app routes to any more: their idle connections closed, the pool dropped. */
  private closeDepartedPools(): void {
    if (this.pools.size === 0) return
    const live = new Set<string>()
    for (const route of this.table.allRoutes()) {
      for (const dyno of route.dynos) live.add(`${dyno.address}:${dyno.port}`)
    }
    for (const [key, pool] of this.pools) {
      if (live.has(key)) continue
      pool.close()
      this.pools.delete(key)
    }
  }

  private bindInternal(spaceId: string, address: string): void {
    const ports = this.options.internalPorts ?? { http: 80, https: 443 }
    const infos: ListenerInfo[] = [
      { kind: 'internal', spaceId, protocol: 'http', port: ports.http },
    ]
    if (this.options.tls)
      infos.push({ kind: 'internal', spaceId, protocol: 'https', port: ports.https })
    const listener: InternalListener = {
      address,
      listeners: infos.map((i) => this.makeListener(i)),
      bound: false,
    }
    this.internal.set(spaceId, listener)
    const attempt = (again: boolean) => {
      listener.retry = undefined
      if (again) {
        // A fresh server for each try: Node's cluster keeps a listener on one whose bind failed.
        listener.listeners = listener.listeners.map((l, i) => {
          if (l.server.listening) return l
          void closeListener(l)
          return this.makeListener(infos[i]!)
        })
      }
      Promise.all(
        listener.listeners.map(({ server }, i) =>
          server.listening ? Promise.resolve() : bind(server, address, infos[i]!.port),
        ),
      )
        .then(() => {
          listener.bound = true
        })
        .catch((err: Error) => {
          if (this.internal.get(spaceId) !== listener) return
          // The address appears when the network agent has made the space's bridge.
          this.options.warn?.(`internal router ${address}: ${err.message}; retrying`)
          listener.retry = setTimeout(() => attempt(true), this.timeouts.bindRetryMs)
          listener.retry.unref()
        })
    }
    attempt(false)
  }
}

/** Is the route served on this listener? Internal apps only inside their space. */
function serves(info: ListenerInfo, route: AppRoute): boolean {
  if (info.kind === 'public') return !route.app.internalRouting
  return route.app.internalRouting && route.app.spaceId === info.spaceId
}

function admitted(route: AppRoute, client: string): boolean {
  const ip = clientIpv4(client)
  return ip !== undefined && route.space !== undefined && route.space.trusted.admits(ip)
}

function bind(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // Both listeners go whichever way it ends: a bind retried every second must not pile up.
    const onError = (err: Error) => {
      server.off('listening', onListening)
      reject(err)
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

function closeListener({ server, http1, sockets }: Listener): Promise<void> {
  return new Promise((resolve) => {
    http1.close()
    for (const socket of sockets) socket.destroy()
    if (!server.listening) return resolve()
    server.close(() => resolve())
  })
}
