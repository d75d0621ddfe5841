/**
 * What the DNS server knows, and how it learns it. The server is a data plane (docs/design.md §2):
 * it never reads the store; a record source pushes changes to it. `MemoryDnsRecords` is that
 * source: the daemon calls its setters from store and runtime events (dyno up/down, app
 * changed, space created/deleted) and marks it `synced` once it has replayed everything.
 */

/** One space, as DNS needs it. */
export interface DnsSpace {
  id: string
  /** The space CIDR (dyno addresses live in it), e.g. `10.40.0.0/16`. */
  cidr: string
  /** The data CIDR (Postgres, Redis); queries from it are the space's too. */
  dataCidr?: string
  /** C.0.1: where the server listens for this space. */
  gateway: string
  /** C.0.3: what the hostnames of internal-routing apps resolve to. */
  internalRouter: string
  /** Internal-routing apps are `<app>.<domain>`; e.g. `localspace.internal`. */
  domain: string
  /**
   * The networks behind the space's VPN connections: queries from them get the hostnames of
   * the space's internal-routing apps (C.0.3) and nothing else (REFUSED): an office resolves
   * the apps it may reach, without being given the dyno names or an open resolver.
   */
  remoteCidrs?: readonly string[]
}

export interface DnsApp {
  id: string
  spaceId: string
  name: string
  /** Resolves `<name>.<space domain>` to the space's internal router. */
  internalRouting: boolean
  /** The app feature `spaces-dns-discovery`: off means no `*.app.localspace` names. */
  dnsDiscovery: boolean
}

/** A running dyno. One-off (`run`) dynos are not registered (heroku-reference §5.1). */
export interface DnsDyno {
  id: string
  appId: string
  processType: string
  /** `web.3` → 3 */
  number: number
  privateIp: string
  /** The dyno's $PORT, published in SRV records. */
  port: number
}

export type DnsRecordEvent =
  | { kind: 'space'; space: DnsSpace }
  | { kind: 'space-removed'; spaceId: string }
  | { kind: 'app'; app: DnsApp }
  | { kind: 'app-removed'; appId: string }
  | { kind: 'dyno'; dyno: DnsDyno }
  | { kind: 'dyno-removed'; dynoId: string }
  /** `true` once the source has told everything it knew at start (after a daemon restart). */
  | { kind: 'synced'; synced: boolean }

/** A source of records: replays its current state to a new listener, then streams changes. */
export interface DnsRecords {
  subscribe(listener: (event: DnsRecordEvent) => void): () => void
}

/**
 * The in-memory record source the daemon feeds. Setters are upserts, removals of unknown ids
 * are no-ops, so a feeder can replay idempotently. Listeners are called synchronously: a dyno
 * is resolvable as soon as `setDyno` returns.
 */
export class MemoryDnsRecords implements DnsRecords {
  private readonly spaces = new Map<string, DnsSpace>()
  private readonly apps = new Map<string, DnsApp>()
  private readonly dynos = new Map<string, DnsDyno>()
  private synced = false
  private readonly listeners = new Set<(event: DnsRecordEvent) => void>()

  subscribe(listener: (event: DnsRecordEvent) => void): () => void {
    this.listeners.add(listener)
    for (const space of this.spaces.values()) listener({ kind: 'space', space })
    for (const app of this.apps.values()) listener({ kind: 'app', app })
    for (const dyno of this.dynos.values()) listener({ kind: 'dyno', dyno })
    listener({ kind: 'synced', synced: this.synced })
    return () => this.listeners.delete(listener)
  }

  setSpace(space: DnsSpace): void {
    this.spaces.set(space.id, { ...space })
    this.emit({ kind: 'space', space: { ...space } })
  }

  /** Also forgets the space's apps and their dynos. */
  removeSpace(spaceId: string): void {
    for (const app of [...this.apps.values()]) if (app.spaceId === spaceId) this.removeApp(app.id)
    if (this.spaces.delete(spaceId)) this.emit({ kind: 'space-removed', spaceId })
  }

  setApp(app: DnsApp): void {
    this.apps.set(app.id, { ...app })
    this.emit({ kind: 'app', app: { ...app } })
  }

  /** Also forgets the app's dynos. */
  removeApp(appId: string): void {
    for (const dyno of [...this.dynos.values()]) if (dyno.appId === appId) this.removeDyno(dyno.id)
    if (this.apps.delete(appId)) this.emit({ kind: 'app-removed', appId })
  }

  setDyno(dyno: DnsDyno): void {
    this.dynos.set(dyno.id, { ...dyno })
    this.emit({ kind: 'dyno', dyno: { ...dyno } })
  }

  removeDyno(dynoId: string): void {
    if (this.dynos.delete(dynoId)) this.emit({ kind: 'dyno-removed', dynoId })
  }

  setSynced(synced: boolean): void {
    this.synced = synced
    this.emit({ kind: 'synced', synced })
  }

  private emit(event: DnsRecordEvent): void {
    for (const listener of this.listeners) listener(event)
  }
}
