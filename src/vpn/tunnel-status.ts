/**
 * Tunnel status from charon, over vici: UP when an IKE_SA of the tunnel is ESTABLISHED and
 * one of its CHILD_SAs INSTALLED, DOWN otherwise.
 *
 * Events (`ike-updown`, `child-updown`, `ike-rekey`, `child-rekey`) only say that something
 * changed; the state itself is always read back with `list-sas`, on every event and on every
 * (re)connect. Counting ups and downs from events would drift (duplicate IKE_SAs while both
 * ends initiate, rekeys that overlap, a charon restarted while we were not connected); a
 * listing of a handful of SAs costs well under a millisecond.
 */
import { parseTunnelName } from './swanctl.js'
import type { TunnelState } from './types.js'
import type { ViciClient, ViciMessage } from './vici.js'

/** What the listing says about one tunnel (one swanctl connection name). */
export interface ObservedTunnel {
  status: TunnelState
  statusMessage: string
}

/**
 * list-sa events → per tunnel name (ours only) its state. Pure. A tunnel with several IKE_SAs
 * (a duplicate during a restart or a rekey) is UP when any of them is.
 */
export function tunnelsFromListing(listing: readonly ViciMessage[]): Map<string, ObservedTunnel> {
  const out = new Map<string, ObservedTunnel>()
  for (const event of listing) {
    for (const [name, value] of Object.entries(event)) {
      if (parseTunnelName(name) === undefined || typeof value !== 'object' || Array.isArray(value))
        continue
      const seen = observeIkeSa(value)
      const before = out.get(name)
      if (before === undefined || (before.status === 'DOWN' && seen.status === 'UP'))
        out.set(name, seen)
    }
  }
  return out
}

/**
 * States in which an SA still carries traffic: a rekey installs the new SA before the old one
 * goes, so a tunnel in the middle of one is not down.
 */
const IKE_UP: ReadonlySet<string> = new Set(['ESTABLISHED', 'REKEYING', 'REKEYED'])
const CHILD_UP: ReadonlySet<string> = new Set(['INSTALLED', 'UPDATING', 'REKEYING', 'REKEYED'])

function observeIkeSa(sa: ViciMessage): ObservedTunnel {
  const ike = typeof sa.state === 'string' ? sa.state : 'UNKNOWN'
  const children = sa['child-sas']
  const childStates =
    children !== undefined && typeof children === 'object' && !Array.isArray(children)
      ? Object.values(children).map((c) =>
          typeof c === 'object' && !Array.isArray(c) && typeof c.state === 'string'
            ? c.state
            : 'UNKNOWN',
        )
      : []
  if (IKE_UP.has(ike) && childStates.some((c) => CHILD_UP.has(c)))
    return { status: 'UP', statusMessage: 'IKE_SA established, CHILD_SA installed' }
  if (IKE_UP.has(ike))
    return {
      status: 'DOWN',
      statusMessage:
        childStates.length === 0
          ? 'IKE_SA established, no CHILD_SA'
          : `IKE_SA established, CHILD_SA ${childStates.join('/')}`,
    }
  return { status: 'DOWN', statusMessage: `IKE_SA ${ike}` }
}

export interface TunnelWatcherOptions {
  /** A fresh vici connection to the charon. */
  connect(): Promise<ViciClient>
  /** Called with the state of every tunnel name given to `watch`, whenever it may have changed. */
  onChange(states: ReadonlyMap<string, ObservedTunnel>): void
  onError?(error: Error): void
  /** Between reconnection attempts while charon is away. */
  retryMs?: number
}

const EVENTS = ['ike-updown', 'child-updown', 'ike-rekey', 'child-rekey'] as const

/** One subscribed vici connection per charon, reconnecting while charon restarts. */
export class TunnelWatcher {
  private client: ViciClient | undefined
  private stopped = false
  private refreshing: Promise<void> | undefined
  private again = false
  private retry: NodeJS.Timeout | undefined
  /** Why the tunnels are down when there is no listing (the last event's words). */
  private lastEvent = new Map<string, string>()
  private names: readonly string[] = []

  constructor(private readonly options: TunnelWatcherOptions) {}

  /** The tunnel names to report on (every one of them, listed or not). */
  watch(names: readonly string[]): void {
    this.names = names
    void this.refresh()
  }

  start(): void {
    void this.reconnect()
  }

  /** Lists SAs now; overlapping calls coalesce into one more listing. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true
      return this.refreshing
    }
    this.refreshing = (async () => {
      do {
        this.again = false
        await this.listOnce()
      } while (this.again && !this.stopped)
    })().finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.retry)
    this.client?.close()
    this.client = undefined
  }

  private async listOnce(): Promise<void> {
    const client = this.client
    if (client === undefined || this.stopped) return
    let listing: ViciMessage[]
    try {
      listing = await client.listSas()
    } catch (e) {
      if (!client.isClosed) this.options.onError?.(e as Error)
      return
    }
    this.report(tunnelsFromListing(listing))
  }

  private report(observed: ReadonlyMap<string, ObservedTunnel>): void {
    const states = new Map<string, ObservedTunnel>()
    for (const name of this.names)
      states.set(
        name,
        observed.get(name) ?? {
          status: 'DOWN',
          statusMessage: this.lastEvent.get(name) ?? 'no IKE_SA',
        },
      )
    if (!this.stopped) this.options.onChange(states)
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return
    let client: ViciClient
    try {
      client = await this.options.connect()
      for (const event of EVENTS)
        await client.subscribe(event, (message, name) => this.onEvent(name, message))
    } catch {
      // charon is (re)starting: every tunnel is down until it answers.
      this.report(new Map())
      this.retry = setTimeout(() => void this.reconnect(), this.options.retryMs ?? 200)
      return
    }
    if (this.stopped) return client.close()
    this.client = client
    client.once('close', () => {
      if (this.client === client) this.client = undefined
      if (!this.stopped) void this.reconnect()
    })
    await this.refresh()
  }

  private onEvent(event: string, message: ViciMessage): void {
    const up = message.up === 'yes'
    for (const name of Object.keys(message)) {
      if (parseTunnelName(name) === undefined) continue
      const what = event.startsWith('ike') ? 'IKE_SA' : 'CHILD_SA'
      const how = event.endsWith('rekey') ? 'rekeyed' : up ? 'up' : 'down'
      this.lastEvent.set(name, `${what} ${how}`)
    }
    void this.refresh()
  }
}
