/**
 * How a batch of framed messages reaches a drain: an HTTP(S) POST in Logplex's format, or a
 * write on a syslog TCP (or TLS) connection. A transport sends one batch at a time; the
 * channel (drains-channel.ts) decides when, and what to do when it fails.
 *
 * TLS is always verified: against Node's bundled roots, plus the extra CAs the dispatcher was
 * given (a private CA, or a test's self-signed one). Nothing here turns verification off.
 *
 * A drain connects only to addresses the address policy allows (core/address-policy.ts): a
 * literal host is judged before connecting, a name on each address it resolves to when the
 * socket connects (its `lookup`), so no drain reaches the host or a private network.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { AddressNotAllowedError, type AddressPolicy } from '../core/address-policy.js'
import type { DrainEndpoint } from '../core/drains.js'

export interface DrainBatch {
  /** Stays the same when the batch is retried, so a receiver can spot a repeat. */
  frameId: string
  count: number
  body: Buffer
}

export interface DrainTransport {
  /** Resolves once the drain took the batch; rejects (and the batch is retried) otherwise. */
  send(batch: DrainBatch): Promise<void>
  /** Drops connections and fails what is in flight. */
  close(): void
}

export interface TransportOptions {
  token: string
  /** PEM CAs trusted besides the bundled roots. */
  ca?: readonly (string | Buffer)[]
  /** A send that has not finished by then fails (and is retried). */
  timeoutMs: number
  userAgent: string
  /** Which addresses the drain may connect to. */
  policy: AddressPolicy
}

/** The literal host of an endpoint the policy refuses: an error to fail the send with. */
const refusedHost = (host: string, policy: AddressPolicy) =>
  policy.refusalOfHost(host) === undefined ? undefined : new AddressNotAllowedError(host)

const trustedCas = (extra: readonly (string | Buffer)[] | undefined) =>
  extra && extra.length > 0 ? [...tls.rootCertificates, ...extra] : undefined

export function createTransport(
  endpoint: DrainEndpoint,
  options: TransportOptions,
): DrainTransport {
  return endpoint.protocol === 'http' || endpoint.protocol === 'https'
    ? new HttpTransport(endpoint, options)
    : new SyslogTransport(endpoint, options)
}

/** POST application/logplex-1, with basic auth from the URL's credentials. */
class HttpTransport implements DrainTransport {
  private readonly agent: http.Agent
  private readonly target: URL
  private readonly authorization: string | undefined
  private readonly requests = new Set<http.ClientRequest>()

  constructor(
    endpoint: DrainEndpoint,
    private readonly options: TransportOptions,
  ) {
    const secure = endpoint.protocol === 'https'
    const ca = trustedCas(options.ca)
    const { lookup } = options.policy
    this.agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 1, lookup, ...(ca && { ca }) })
      : new http.Agent({ keepAlive: true, maxSockets: 1, lookup })
    this.target = new URL(endpoint.url.href)
    if (this.target.username !== '' || this.target.password !== '') {
      const user = decodeURIComponent(this.target.username)
      const password = decodeURIComponent(this.target.password)
      this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
      this.target.username = ''
      this.target.password = ''
    }
    this.target.hash = ''
  }

  send(batch: DrainBatch): Promise<void> {
    const refused = refusedHost(this.target.hostname, this.options.policy)
    if (refused) return Promise.reject(refused)
    const request = this.target.protocol === 'https:' ? https.request : http.request
    return new Promise((resolve, reject) => {
      const req = request(this.target, {
        method: 'POST',
        agent: this.agent,
        timeout: this.options.timeoutMs,
        headers: {
          'content-type': 'application/logplex-1',
          'content-length': batch.body.length,
          'logplex-msg-count': batch.count,
          'logplex-frame-id': batch.frameId,
          'logplex-drain-token': this.options.token,
          'user-agent': this.options.userAgent,
          ...(this.authorization && { authorization: this.authorization }),
        },
      })
      this.requests.add(req)
      const done = (error?: Error) => {
        this.requests.delete(req)
        if (error) reject(error)
        else resolve()
      }
      req.on('response', (res) => {
        res.resume() // the body is not needed; reading it frees the socket for the next batch
        const status = res.statusCode ?? 0
        res.on('end', () =>
          done(status >= 200 && status < 300 ? undefined : new Error(`HTTP ${status}`)),
        )
        res.on('error', done)
      })
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.options.timeoutMs} ms`)))
      req.on('error', done)
      req.end(batch.body)
    })
  }

  close(): void {
    for (const req of this.requests) req.destroy(new Error('drain closed'))
    this.agent.destroy()
  }
}

/** RFC 6587 octet-counted frames on one long-lived connection, reopened when it breaks. */
class SyslogTransport implements DrainTransport {
  private socket: net.Socket | undefined
  private connecting: Promise<net.Socket> | undefined
  /** The socket being opened, so close() can abandon it too. */
  private opening: net.Socket | undefined
  private closed = false

  constructor(
    private readonly endpoint: DrainEndpoint,
    private readonly options: TransportOptions,
  ) {}

  async send(batch: DrainBatch): Promise<void> {
    const socket = await this.connect()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new Error(`write not done in ${this.options.timeoutMs} ms`))
      }, this.options.timeoutMs)
      const onClose = () => finish(new Error('connection closed'))
      const finish = (error?: Error | null) => {
        clearTimeout(timer)
        socket.off('close', onClose)
        if (error) reject(error)
        else resolve()
      }
      socket.once('close', onClose)
      socket.write(batch.body, (error) => finish(error))
    })
  }

  private connect(): Promise<net.Socket> {
    if (this.closed) return Promise.reject(new Error('drain closed'))
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket)
    const refused = refusedHost(this.endpoint.host, this.options.policy)
    if (refused) return Promise.reject(refused)
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const { host, port } = this.endpoint
      const ca = trustedCas(this.options.ca)
      const secure = this.endpoint.protocol === 'syslog+tls'
      const { lookup } = this.options.policy
      const socket = secure
        ? tls.connect({
            host,
            port,
            lookup,
            ...(net.isIP(host) === 0 && { servername: host }),
            ...(ca && { ca }),
          })
        : net.connect({ host, port, lookup })
      this.opening = socket
      const timer = setTimeout(
        () => socket.destroy(new Error(`could not connect in ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      )
      const fail = (error: Error) => {
        clearTimeout(timer)
        this.connecting = undefined
        this.opening = undefined
        socket.destroy()
        reject(error)
      }
      socket.once('error', fail)
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer)
        socket.off('error', fail)
        this.connecting = undefined
        this.opening = undefined
        if (this.closed) {
          socket.destroy()
          reject(new Error('drain closed'))
          return
        }
        socket.setKeepAlive(true, 60_000)
        socket.setNoDelay(true)
        // A syslog receiver sends nothing; whatever it does send is read and dropped.
        socket.resume()
        socket.on('error', () => socket.destroy())
        socket.on('close', () => {
          if (this.socket === socket) this.socket = undefined
        })
        this.socket = socket
        resolve(socket)
      })
    })
    return this.connecting
  }

  close(): void {
    this.closed = true
    this.opening?.destroy(new Error('drain closed'))
    this.socket?.destroy()
    this.socket = undefined
  }
}
