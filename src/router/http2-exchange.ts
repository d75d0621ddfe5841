/**
 * An HTTP/2 request (from Node's http2 server, on TLS listeners that negotiated h2) as a
 * ClientExchange. Streams, flow control and HPACK are Node's; this only translates.
 */
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import {
  HOP_BY_HOP_RESPONSE,
  pageHeaders,
  type ClientExchange,
  type ClientUser,
} from './exchange.js'
import type { ResponseHead } from './http1-parser.js'

export class Http2Exchange implements ClientExchange {
  readonly h2 = true
  /** HTTP/2 has no Upgrade (RFC 9113 §8.6); the header is dropped on the way to the dyno. */
  readonly upgrade = undefined
  readonly method: string
  readonly url: string
  readonly rawHeaders: readonly string[]
  readonly host: string
  readonly remoteAddress: string
  readonly body: 'none' | 'length' | 'chunked'
  readonly contentLength: number | undefined
  private user: ClientUser | undefined
  private ended = false

  constructor(
    private readonly req: Http2ServerRequest,
    private readonly res: Http2ServerResponse,
  ) {
    this.method = req.method
    this.url = req.url
    this.rawHeaders = req.rawHeaders
    const authority = req.headers[':authority']
    this.host = (typeof authority === 'string' ? authority : req.headers.host) ?? ''
    this.remoteAddress = req.socket.remoteAddress ?? ''
    const length = req.headers['content-length']
    this.contentLength = length !== undefined && /^\d{1,15}$/.test(length) ? +length : undefined
    this.body = length !== undefined ? 'length' : req.stream.endAfterHeaders ? 'none' : 'chunked'
  }

  get headSent(): boolean {
    return this.res.headersSent
  }

  listen(user: ClientUser): void {
    this.user = user
    this.res.on('close', () => {
      if (!this.ended) user.onClientGone()
    })
    this.res.on('drain', () => user.onClientDrain())
  }

  readBody(): void {
    if (this.body === 'none') return
    this.req.on('data', (chunk: Buffer) => this.user?.onClientBody(chunk))
    this.req.on('end', () => this.user?.onClientBodyEnd())
  }

  pauseBody(): void {
    this.req.pause()
  }

  resumeBody(): void {
    this.req.resume()
  }

  writeHead(head: ResponseHead, _bodyless: boolean): void {
    const headers: Record<string, string | string[]> = {}
    const raw = head.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      if (HOP_BY_HOP_RESPONSE.match(raw[i]!) !== undefined) continue
      const lower = raw[i]!.toLowerCase()
      const prev = headers[lower]
      headers[lower] =
        prev === undefined ? raw[i + 1]! : [...(Array.isArray(prev) ? prev : [prev]), raw[i + 1]!]
    }
    this.res.writeHead(head.status, headers)
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk)
  }

  flush(): void {
    // Node's HTTP/2 streams frame and send on their own.
  }

  end(): void {
    this.ended = true
    this.res.end()
  }

  sendPage(status: number, page: string): void {
    this.ended = true
    this.res.writeHead(status, pageHeaders(page))
    this.res.end(page)
  }

  destroy(): void {
    this.ended = true
    this.res.destroy()
  }

  tunnel(): never {
    throw new Error('HTTP/2 requests never switch protocols') // `upgrade` is undefined
  }
}
