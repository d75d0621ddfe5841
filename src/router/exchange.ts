/**
 * The client's side of one request, as a Forward (forward.ts) sees it whatever the protocol:
 * HTTP/1.x from the router's own server (http1-server.ts) or HTTP/2 from Node's
 * (http2-exchange.ts). The request's facts, its body as it arrives, and the response on its
 * way back — the same contract as the dyno side's DynoConnection/ConnectionUser.
 */
import type { Socket } from 'node:net'
import { FieldNames } from './field-names.js'
import type { ResponseHead } from './http1-parser.js'

/** What the request's holder hears from the client. */
export interface ClientUser {
  onClientBody(chunk: Buffer): void
  onClientBodyEnd(): void
  /** The client accepted everything written so far (response back-pressure). */
  onClientDrain(): void
  /** The client went away before the response ended. */
  onClientGone(): void
}

export interface ClientExchange {
  readonly method: string
  /** The request target as sent (`/path?query`). */
  readonly url: string
  /** Request fields as received, `[name, value, …]` (HTTP/2 pseudo-headers start with `:`). */
  readonly rawHeaders: readonly string[]
  /** Host header (HTTP/1) or `:authority` (HTTP/2). */
  readonly host: string
  readonly remoteAddress: string
  /** How the request body arrives: none, with a known length, or in pieces of unknown total. */
  readonly body: 'none' | 'length' | 'chunked'
  readonly contentLength: number | undefined
  readonly h2: boolean
  /** The protocol an HTTP/1.1 request asks to switch to (`Upgrade`, WebSocket); else undefined. */
  readonly upgrade: string | undefined
  /** The response head went out: from now on a failure can only cut the connection. */
  readonly headSent: boolean

  /** Who hears the client's events: once, before anything else. */
  listen(user: ClientUser): void
  /** Starts delivering the body (until then the exchange holds it, the client waits). */
  readBody(): void
  pauseBody(): void
  resumeBody(): void
  /**
   * The dyno's response head (hop-by-hop fields are dropped here); `bodyless` for HEAD, 204
   * and 304. May throw on values the protocol cannot carry: the response is then unusable.
   */
  writeHead(head: ResponseHead, bodyless: boolean): void
  /** false: wait for onClientDrain before writing more. */
  write(chunk: Buffer): boolean
  /**
   * Sends what writeHead and write held back (they may, to leave in one piece with what
   * follows in the same read from the dyno); end does it too.
   */
  flush(): void
  end(): void
  /** A small answer from the router itself; `close`: the connection's framing is in doubt. */
  sendPage(status: number, page: string, close?: boolean): void
  /** Cuts the response (a half-sent one cannot be fixed). */
  destroy(): void
  /**
   * The dyno switched protocols (its 101 to `upgrade`): sends the 101 and gives up the client's
   * connection — its socket, and what the client sent after the request. HTTP/1.1 only.
   */
  tunnel(head: ResponseHead): { socket: Socket; rest: Buffer }
}

/** Response fields that describe the dyno connection, not the response (RFC 9110 §7.6.1). */
export const HOP_BY_HOP_RESPONSE = new FieldNames([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
])

/** The headers of a router page. */
export const pageHeaders = (page: string) => ({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache, no-store',
  'content-length': Buffer.byteLength(page),
})
