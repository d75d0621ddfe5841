/**
 * A client connection switched to another protocol (WebSocket) after the dyno's 101: bytes go
 * both ways as they are, with back-pressure each way, until either side closes. The router
 * keeps the open ones to close those whose source a new ruleset no longer admits.
 */
import type { Socket } from 'node:net'
import type { DynoConnection } from './dyno-pool.js'

/** After the dyno closed, how long the client gets to take what it sent last. */
const LINGER_MS = 1000

export class Tunnel {
  private readonly upstream: Socket
  private ended = false

  /**
   * `clientRest`: what the client sent after its request; the bytes the dyno sent after its
   * 101 come from `dyno`. `onEnd` is called once, when either side has gone.
   */
  constructor(
    private readonly client: Socket,
    clientRest: Buffer,
    dyno: DynoConnection,
    private readonly onEnd: () => void,
  ) {
    const upstream = (this.upstream = dyno.socket)
    const dynoRest = dyno.tunnel((chunk) => {
      if (!client.write(chunk)) upstream.pause()
    })
    client.on('drain', () => upstream.resume())
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause()
    })
    upstream.on('drain', () => client.resume())
    client.on('end', () => upstream.end())
    client.on('close', () => {
      upstream.destroy()
      this.end()
    })
    upstream.on('close', () => {
      client.end()
      setTimeout(() => client.destroy(), LINGER_MS).unref()
      this.end()
    })
    if (dynoRest && dynoRest.length > 0) client.write(dynoRest)
    if (clientRest.length > 0) upstream.write(clientRest)
    client.resume()
    upstream.resume()
  }

  /** Cuts both sides (the source is no longer admitted, the router closes). */
  close(): void {
    this.client.destroy()
    this.upstream.destroy()
  }

  private end(): void {
    if (this.ended) return
    this.ended = true
    this.onEnd()
  }
}
