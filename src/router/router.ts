/**
 * The router (design.md §6): public listeners for every non-internal app, one internal
 * listener per space (C.0.3, ports 80 and 443) for its internal-routing apps, admission by the
 * space's trusted IP ranges before any byte goes to a dyno, and a random pick among the app's
 * `up` web dynos with at most 50 requests in flight each (more wait in the app's queue; H11
 * when that is full).
 *
 * Lifecycle: `new Router(options)`, feed `router.table` (routing-table.ts), `await start()`,
 * `await close()`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createSecureServer, type Http2SecureServer } from 'node:http2'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { DynoPool } from './dyno-pool.js'
import {
  Forward,
  sendPage,
  upstreamHead,
  type ClientRequest,
  type ClientResponse,
  type ForwardFacts,
  type ForwardHost,
} from './forward.js'
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
import { insideSpace, RoutingTable, type AppRoute, type RouterDyno } from './routing-table.js'
import { clientIpv4 } from './trusted-ranges.js'

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
  /** How often Node checks the two above. */
  checkEveryMs: number
  /** Retry binding an internal listener whose address is not up yet. */
  bindRetryMs: number
}

export interface RouterLimits {
  maxInflightPerDyno: number
  /** Requests waiting for a dyno, per app; beyond it: 503 H11. */
  maxQueuePerApp: number
  /** Request head (request line and headers) size limit; beyond it: 400 H25. */
  maxHeaderBytes: number
  /** Kept-alive idle connections per dyno. */
  maxIdlePerDyno: number
}

const DEFAULT_TIMEOUTS: RouterTimeouts = {
  firstByteMs: 30_000,
  idleMs: 55_000,
  headersMs: 10_000,
  keepAliveMs: 90_000,
  checkEveryMs: 1_000,
  bindRetryMs: 1_000,
}

const DEFAULT_LIMITS: RouterLimits = {
  maxInflightPerDyno: 50,
  maxQueuePerApp: 1_000,
  // Heroku Private Spaces: single headers up to 512 KB.
  maxHeaderBytes: 1024 * 1024,
  maxIdlePerDyno: 64,
}

interface ListenerInfo {
  kind: 'public' | 'internal'
  /** The space an internal listener serves. */
  spaceId?: string
  protocol: 'http' | 'https'
  port: number
}

type AnyServer = Server | Http2SecureServer

interface InternalListener {
  address: string
  servers: AnyServer[]
  bound: boolean
  retry?: NodeJS.Timeout | undefined
}

export class Router implements ForwardHost {
  readonly table: RoutingTable
  readonly firstByteMs: number
  readonly idleMs: number
  private readonly timeouts: RouterTimeouts
  private readonly limits: RouterLimits
  private readonly publicServers: { server: AnyServer; listen: RouterListen }[] = []
  private readonly internal = new Map<string, InternalListener>()
  private readonly pools = new Map<string, DynoPool>()
  private readonly queues = new Map<string, Forward[]>()
  private readonly stopWatching: () => void
  private closed = false
  private started = false

  constructor(private readonly options: RouterOptions) {
    this.table = new RoutingTable(options.domain)
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
    this.limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.firstByteMs = this.timeouts.firstByteMs
    this.idleMs = this.timeouts.idleMs
    this.stopWatching = this.table.onChange(() => this.tableChanged())
  }

  /** Binds the public listeners; rejects if one cannot be bound. */
  async start(): Promise<void> {
    for (const listen of this.options.listen) {
      const info: ListenerInfo = {
        kind: 'public',
        protocol: listen.tls ? 'https' : 'http',
        port: listen.port,
      }
      const server = this.makeServer(info)
      await bind(server, listen.host, listen.port)
      const port = (server.address() as { port: number }).port
      info.port = port
      this.publicServers.push({ server, listen: { ...listen, port } })
    }
    this.started = true
    this.tableChanged()
  }

  /** Where the public listeners are (ports resolved when 0 was asked for). */
  addresses(): RouterListen[] {
    return this.publicServers.map((s) => s.listen)
  }

  /** Is the internal listener of the space bound (its C.0.3 address exists)? */
  internalBound(spaceId: string): boolean {
    return this.internal.get(spaceId)?.bound ?? false
  }

  async close(): Promise<void> {
    this.closed = true
    this.stopWatching()
    const servers = [
      ...this.publicServers.map((s) => s.server),
      ...[...this.internal.values()].flatMap((l) => {
        if (l.retry) clearTimeout(l.retry)
        return l.servers
      }),
    ]
    for (const pool of this.pools.values()) pool.close()
    await Promise.all(servers.map((s) => closeServer(s)))
  }

  log(appId: string, text: string): void {
    this.options.log(appId, text)
  }

  // --- request handling ------------------------------------------------------------------------

  private handle(info: ListenerInfo, req: ClientRequest, res: ClientResponse): void {
    const h2 = req.httpVersionMajor === 2
    if (!h2 && !wellFramed(req as IncomingMessage)) {
      sendPage(res, 400, BAD_REQUEST_PAGE, true)
      return
    }
    const authority = h2 ? req.headers[':authority'] : undefined
    const host = (typeof authority === 'string' ? authority : req.headers.host) ?? ''
    const route = this.table.routeForHost(host)
    if (!route || !serves(info, route)) {
      sendPage(res, 404, NO_SUCH_APP_PAGE)
      return
    }
    const client = req.socket.remoteAddress ?? ''
    const given = joined(req.headers['x-forwarded-for'])
    const facts: ForwardFacts = {
      route,
      requestId: requestIdFor(req.headers['x-request-id'] as string | undefined),
      fwd: given ? `${given}, ${client}` : client,
      protocol: info.protocol,
      port: info.port,
      host,
      h2,
    }
    if (info.kind === 'public' && !admitted(route, client)) {
      this.refuse(
        res,
        req,
        facts,
        403,
        FORBIDDEN_PAGE,
        undefined,
        'Source not in trusted IP ranges',
      )
      return
    }
    if (route.dynos.length === 0) {
      const code = route.health === 'crashed' ? 'H10' : 'H14'
      this.refuse(res, req, facts, ROUTER_ERRORS[code].status, APPLICATION_ERROR_PAGE, code)
      return
    }
    const forward = new Forward(this, req, res, facts)
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

  /** A request that never reaches a dyno: a page and a router log line. */
  private refuse(
    res: ClientResponse,
    req: ClientRequest,
    facts: ForwardFacts,
    status: number,
    page: string,
    code?: RouterErrorCode,
    desc?: string,
  ): void {
    sendPage(res, status, page)
    this.log(
      facts.route.app.id,
      routerLogLine({
        ...(code !== undefined && { code }),
        ...(desc !== undefined && { desc }),
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        host: facts.host,
        requestId: facts.requestId,
        fwd: facts.fwd,
        dyno: '',
        connectMs: 0,
        serviceMs: 0,
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
    const key = `${dyno.address}:${dyno.port}`
    let pool = this.pools.get(key)
    if (!pool) {
      pool = new DynoPool(
        dyno.address,
        dyno.port,
        this.limits.maxIdlePerDyno,
        this.limits.maxHeaderBytes,
      )
      this.pools.set(key, pool)
    }
    return pool
  }

  /** A request left its dyno (or its queue): queued requests of the app may go now. */
  released(forward: Forward): void {
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

  // --- upgrades (WebSocket) --------------------------------------------------------------------

  private upgrade(info: ListenerInfo, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined)
    const host = req.headers.host ?? ''
    const route = this.table.routeForHost(host)
    if (!wellFramed(req)) return rawPage(socket, 400, 'Bad Request', BAD_REQUEST_PAGE)
    if (!route || !serves(info, route)) return rawPage(socket, 404, 'Not Found', NO_SUCH_APP_PAGE)
    const client = req.socket.remoteAddress ?? ''
    const given = joined(req.headers['x-forwarded-for'])
    const facts: ForwardFacts = {
      route,
      requestId: requestIdFor(req.headers['x-request-id'] as string | undefined),
      fwd: given ? `${given}, ${client}` : client,
      protocol: info.protocol,
      port: info.port,
      host,
      h2: false,
    }
    const logLine = (status: number, dyno: string, code?: RouterErrorCode, desc?: string) =>
      this.log(
        route.app.id,
        routerLogLine({
          ...(code !== undefined && { code }),
          ...(desc !== undefined && { desc }),
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          host,
          requestId: facts.requestId,
          fwd: facts.fwd,
          dyno,
          connectMs: 0,
          serviceMs: Date.now() - started,
          status,
          bytes: 0,
          protocol: info.protocol,
        }),
      )
    const started = Date.now()
    if (info.kind === 'public' && !admitted(route, client)) {
      logLine(403, '', undefined, 'Source not in trusted IP ranges')
      return rawPage(socket, 403, 'Forbidden', FORBIDDEN_PAGE)
    }
    const picked = route.dynos.length > 0 ? this.pick(route) : undefined
    if (!picked) {
      const code = route.dynos.length > 0 ? 'H11' : route.health === 'crashed' ? 'H10' : 'H14'
      logLine(503, '', code)
      return rawPage(socket, 503, 'Service Unavailable', APPLICATION_ERROR_PAGE)
    }
    // A long-lived tunnel: its own connection, never pooled, not counted in flight.
    const upstream: Socket = connect(picked.dyno.port, picked.dyno.address)
    upstream.setNoDelay(true)
    let answered = false
    upstream.on('connect', () => {
      upstream.write(upstreamHead(req, facts, 'none', true))
      if (head.length > 0) upstream.write(head)
      socket.pipe(upstream)
      upstream.pipe(socket)
    })
    upstream.once('data', (chunk: Buffer) => {
      answered = true
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 16))?.[1])
      logLine(status || 502, picked.dyno.name)
    })
    upstream.on('error', () => undefined)
    upstream.on('close', () => {
      if (!answered) {
        logLine(503, picked.dyno.name, 'H13')
        rawPage(socket, 503, 'Service Unavailable', APPLICATION_ERROR_PAGE)
      } else {
        socket.destroy()
      }
    })
    socket.on('close', () => upstream.destroy())
  }

  // --- listeners -------------------------------------------------------------------------------

  private makeServer(info: ListenerInfo): AnyServer {
    const t = this.timeouts
    const onRequest = (req: ClientRequest, res: ClientResponse) => this.handle(info, req, res)
    let server: AnyServer
    if (info.protocol === 'https') {
      const tls = this.options.tls
      if (!tls) throw new Error('an HTTPS listener needs a certificate (--tls-cert, --tls-key)')
      server = createSecureServer(
        {
          allowHTTP1: true,
          cert: tls.cert,
          key: tls.key,
          // The app's certificate for the name, else the listener's own (--tls-cert).
          SNICallback: (name, cb) => cb(null, this.table.certificateFor(name)),
          maxSessionMemory: 64,
          settings: { maxHeaderListSize: this.limits.maxHeaderBytes },
        },
        onRequest,
      )
    } else {
      server = createHttpServer(
        {
          insecureHTTPParser: false, // llhttp strict: ambiguous framing is a 400, never guessed
          maxHeaderSize: this.limits.maxHeaderBytes,
          requestTimeout: 0, // long uploads are fine; idle and head timeouts still apply
          headersTimeout: t.headersMs,
          keepAliveTimeout: t.keepAliveMs,
          connectionsCheckingInterval: t.checkEveryMs,
          noDelay: true,
          requireHostHeader: true,
        },
        onRequest,
      )
    }
    // The HTTP/1 side of an HTTPS listener honours the same head and keep-alive timeouts.
    const h1 = server as Server
    h1.headersTimeout = t.headersMs
    h1.keepAliveTimeout = t.keepAliveMs
    h1.requestTimeout = 0
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(info, req, socket, head),
    )
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return socket.destroy()
      if (err.code === 'HPE_HEADER_OVERFLOW') {
        return rawPage(socket, 431, 'Request Header Fields Too Large', BAD_REQUEST_PAGE)
      }
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        return rawPage(socket, 408, 'Request Timeout', BAD_REQUEST_PAGE)
      }
      rawPage(socket, 400, 'Bad Request', BAD_REQUEST_PAGE)
    })
    if (info.kind === 'internal') {
      // Only sources inside the space (or its VPN and peer networks), before any byte is read.
      server.on('connection', (socket: Socket) => {
        const space = this.table.space(info.spaceId!)
        const ip = clientIpv4(socket.remoteAddress)
        if (!space || ip === undefined || !insideSpace(space, ip)) socket.destroy()
      })
    }
    return server
  }

  /** Spaces or dynos changed: bind or drop internal listeners, close unused pools, drain. */
  private tableChanged(): void {
    if (this.closed) return
    const spaces = new Map([...this.table.allSpaces()].map((s) => [s.space.id, s.space]))
    for (const [id, listener] of this.internal) {
      if (spaces.get(id)?.internalAddress !== listener.address) {
        this.internal.delete(id)
        if (listener.retry) clearTimeout(listener.retry)
        for (const s of listener.servers) void closeServer(s)
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
      servers: infos.map((i) => this.makeServer(i)),
      bound: false,
    }
    this.internal.set(spaceId, listener)
    const attempt = () => {
      listener.retry = undefined
      Promise.all(
        listener.servers.map((s, i) =>
          s.listening ? Promise.resolve() : bind(s, address, infos[i]!.port),
        ),
      )
        .then(() => {
          listener.bound = true
        })
        .catch((err: Error) => {
          if (this.internal.get(spaceId) !== listener) return
          // The address appears when the network agent has made the space's bridge.
          this.options.warn?.(`internal router ${address}: ${err.message}; retrying`)
          listener.retry = setTimeout(attempt, this.timeouts.bindRetryMs)
          listener.retry.unref()
        })
    }
    attempt()
  }
}

/** A header that may arrive several times (HTTP/2), as one comma-separated value. */
const joined = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v.join(', ') : v

/** Is the route served on this listener? Internal apps only inside their space. */
function serves(info: ListenerInfo, route: AppRoute): boolean {
  if (info.kind === 'public') return !route.app.internalRouting
  return route.app.internalRouting && route.app.spaceId === info.spaceId
}

function admitted(route: AppRoute, client: string): boolean {
  const ip = clientIpv4(client)
  return ip !== undefined && route.space !== undefined && route.space.trusted.admits(ip)
}

/**
 * What llhttp lets through but a proxy must not: several Host headers, and a
 * Transfer-Encoding other than exactly `chunked` (the dyno could frame it differently).
 */
function wellFramed(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding']
  if (te !== undefined && te.toLowerCase() !== 'chunked') return false
  let hosts = 0
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!
    if (n.length === 4 && n.toLowerCase() === 'host' && ++hosts > 1) return false
  }
  return true
}

function rawPage(socket: Duplex, status: number, reason: string, page: string): void {
  if (!socket.writable) return void socket.destroy()
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/html; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(page)}\r\nConnection: close\r\n\r\n${page}`,
  )
  // A client that never closes its side (a slowloris) must not keep the socket: give the
  // answer a moment to leave, then cut.
  setTimeout(() => socket.destroy(), 1000).unref()
}

function bind(server: AnyServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

function closeServer(server: AnyServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    ;(server as Server).closeAllConnections?.()
  })
}
