/**
 * What the API may read about the host without touching it: the daemon supplies an
 * implementation backed by the runtime and network modules; tests supply a plain object.
 */
import type { Duplex } from 'node:stream'

export interface DynoView {
  id: string
  name: string
  type: string
  command: string
  size: string
  /** `complete`: a one-off dyno whose process has exited (it goes away right after). */
  state: 'starting' | 'up' | 'crashed' | 'down' | 'idle' | 'complete'
  releaseId: string
  releaseVersion: number
  privateIp: string | null
  createdAt: string
  updatedAt: string
}

export interface HostView {
  hostId: string
  state: 'available'
  availableCapacityPercentage: number
  allocatedAt: string
}

/** One line of `localspace doctor`. */
export interface HealthCheck {
  name: string
  ok: boolean
  /** What is wrong and what to do, in words a person understands; or what was seen. */
  detail: string
}

/** `POST /apps/{app}/dynos`: a one-off dyno, as the API has validated it. */
export interface OneOffSpec {
  command: string
  /** true: started once a client connects to the rendezvous; stdin/stdout go over it. */
  attach: boolean
  /** Process type; the dyno is `<type>.<random 4-digit number>`. */
  type: string
  /** A known size name (core/sizes.ts), already checked against the app's placement. */
  size: string
  /** Added to (and overriding) the release's config vars. */
  env: Record<string, string>
  /** Seconds after which the dyno is stopped; undefined: it runs until it exits. */
  timeToLive?: number
}

export interface OneOffView extends DynoView {
  /**
   * For attached dynos: the one-time secret of the rendezvous (the API serves it at
   * `/localspace/rendezvous/<token>`); undefined for detached ones.
   */
  rendezvousToken?: string
}

export interface RuntimeView {
  /** Dynos the runtime reports for an app; empty until the runtime runs them. */
  dynos(appId: string): DynoView[]
  /** Addresses space traffic leaves from (space NAT `sources`). */
  natSources(spaceId: string): string[]
  /** The hosts that serve spaces. */
  hosts(): HostView[]
  /** Networks already used on the host, which a space CIDR must not overlap. */
  reservedCidrs(): string[]
  /** Checks of the host: tools, privileges, drift from desired state. */
  doctor(): Promise<HealthCheck[]>
  /**
   * Starts a one-off dyno (`heroku run`, `run:detached`) from the app's current release.
   * Absent: the server runs no dynos (POST /apps/{app}/dynos answers 503). Rejects with a
   * PlatformError when the app cannot run one (not in an allocated space, no release).
   */
  runOneOff?(appId: string, spec: OneOffSpec): Promise<OneOffView>
  /**
   * Claims a rendezvous token (once): the returned function takes the upgraded connection
   * and carries the session (bytes in → the dyno's stdin; its stdout and stderr out, then
   * `\uFFFF heroku-command-exit-status: N` and the end). undefined: unknown or used token.
   */
  rendezvous?(token: string): ((socket: Duplex) => void) | undefined
}

export const emptyRuntimeView = (): RuntimeView => ({
  dynos: () => [],
  natSources: () => [],
  hosts: () => [],
  reservedCidrs: () => [],
  doctor: () => Promise.resolve([]),
})
