/**
 * What the API may read about the host without touching it: the daemon supplies an
 * implementation backed by the runtime and network modules; tests supply a plain object.
 */
export interface DynoView {
  id: string
  name: string
  type: string
  command: string
  size: string
  state: 'starting' | 'up' | 'crashed' | 'down' | 'idle'
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
}

export const emptyRuntimeView = (): RuntimeView => ({
  dynos: () => [],
  natSources: () => [],
  hosts: () => [],
  reservedCidrs: () => [],
  doctor: () => Promise.resolve([]),
})
