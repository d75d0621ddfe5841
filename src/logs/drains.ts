/**
 * The drain dispatcher: copies every app's log lines to its drains (its own, and its space's
 * log drain), as Logplex does. It follows the apps that have drains (LogView.follow) and hands
 * each line to one DrainChannel per drain, which batches, retries and bounds its buffer
 * (drains-channel.ts).
 *
 * Which app drains where comes from a DrainSource, read at start and again when the API says
 * drains changed (`drains.changed`) or apps or spaces did (an app created in, or deleted from,
 * a space with a log drain): never on the path of a line.
 */
import { parseDrainUrl, type DrainSource, type DrainTarget } from '../core/drains.js'
import type { EventBus } from '../core/events.js'
import { AddressPolicy } from '../core/address-policy.js'
import type { LogView } from '../core/log-view.js'
import { DrainChannel, type ChannelSettings, type DrainStats } from './drains-channel.js'
import { createTransport } from './drains-transport.js'

export type { DrainStats } from './drains-channel.js'

export const DRAIN_BATCH_SIZE = 500
export const DRAIN_FLUSH_INTERVAL_MS = 250
export const DRAIN_BUFFER_LINES = 10_000
/** 16 Mi characters: 10,000 lines of 10 KB would otherwise hold 100 MB per drain. */
export const DRAIN_BUFFER_CHARS = 16 * 1024 * 1024
export const DRAIN_INITIAL_BACKOFF_MS = 500
export const DRAIN_MAX_BACKOFF_MS = 30_000
export const DRAIN_TIMEOUT_MS = 30_000
/** What stop() gives queued lines to go out before dropping them. */
export const DRAIN_CLOSE_GRACE_MS = 2_000
const USER_AGENT = 'Logplex/v1 (localspace)'
const PUBLIC_ONLY = new AddressPolicy()

export interface DrainDispatcherOptions {
  logs: LogView
  source: DrainSource
  events: EventBus
  /** PEM CA certificates trusted for HTTPS and syslog+tls drains besides the bundled roots. */
  ca?: readonly (string | Buffer)[]
  /** Where drains may connect to; default: public addresses only (core/address-policy.ts). */
  addressPolicy?: AddressPolicy
  batchSize?: number
  flushIntervalMs?: number
  bufferLines?: number
  bufferChars?: number
  initialBackoffMs?: number
  maxBackoffMs?: number
  /** A send (connect, request, answer) that takes longer fails and is retried. */
  timeoutMs?: number
  closeGraceMs?: number
  log?: (message: string) => void
}

interface Followed {
  appName: string
  channels: DrainChannel[]
  unfollow: () => void
}

export class DrainDispatcher {
  private readonly channels = new Map<string, DrainChannel>()
  private readonly followed = new Map<string, Followed>()
  private readonly unsubscribe: Array<() => void> = []
  /** Drains whose stored URL cannot be used, reported once each. */
  private readonly unusable = new Set<string>()
  private readonly settings: ChannelSettings
  private pendingRefresh: NodeJS.Immediate | undefined
  private started = false

  constructor(private readonly options: DrainDispatcherOptions) {
    this.settings = {
      batchSize: options.batchSize ?? DRAIN_BATCH_SIZE,
      flushIntervalMs: options.flushIntervalMs ?? DRAIN_FLUSH_INTERVAL_MS,
      bufferLines: options.bufferLines ?? DRAIN_BUFFER_LINES,
      bufferChars: options.bufferChars ?? DRAIN_BUFFER_CHARS,
      initialBackoffMs: options.initialBackoffMs ?? DRAIN_INITIAL_BACKOFF_MS,
      maxBackoffMs: options.maxBackoffMs ?? DRAIN_MAX_BACKOFF_MS,
      log: options.log ?? (() => undefined),
    }
  }

  /** Reads the drains and follows the apps that have any; then follows changes. */
  start(): void {
    if (this.started) return
    this.started = true
    for (const event of ['drains.changed', 'app.changed', 'space.changed'] as const) {
      this.unsubscribe.push(this.options.events.on(event, () => this.scheduleRefresh()))
    }
    this.refresh()
  }

  /** Stops following, and gives queued lines `closeGraceMs` to go out. */
  async stop(): Promise<void> {
    this.started = false
    for (const off of this.unsubscribe.splice(0)) off()
    if (this.pendingRefresh) clearImmediate(this.pendingRefresh)
    this.pendingRefresh = undefined
    for (const f of this.followed.values()) f.unfollow()
    this.followed.clear()
    const grace = this.options.closeGraceMs ?? DRAIN_CLOSE_GRACE_MS
    const closing = [...this.channels.values()].map((c) => c.close(grace))
    this.channels.clear()
    await Promise.all(closing)
  }

  /** Each drain's counters, for tests and diagnostics. */
  stats(): DrainStats[] {
    return [...this.channels.values()].map((c) => c.stats())
  }

  /** Several changes in one tick (a release emits more than one event) read the source once. */
  private scheduleRefresh(): void {
    this.pendingRefresh ??= setImmediate(() => {
      this.pendingRefresh = undefined
      if (this.started) this.refresh()
    })
  }

  /** Brings channels and follows in line with the source. */
  refresh(): void {
    const log = this.settings.log
    let apps
    try {
      apps = this.options.source.appDrains()
    } catch (e) {
      log(`drains: could not read drains: ${e instanceof Error ? e.message : String(e)}`)
      return
    }
    const wanted = new Map<string, DrainTarget>()
    for (const app of apps) for (const d of app.drains) wanted.set(d.id, d)

    for (const [id, channel] of this.channels) {
      const now = wanted.get(id)
      const same =
        now &&
        now.url === channel.target.url &&
        now.token === channel.target.token &&
        now.scope === channel.target.scope
      if (!same) {
        void channel.close()
        this.channels.delete(id)
      }
    }
    for (const [id, target] of wanted) {
      if (this.channels.has(id)) continue
      const endpoint = parseDrainUrl(target.url)
      if ('error' in endpoint) {
        if (!this.unusable.has(id)) log(`drains: skipping drain ${id}: ${endpoint.error}`)
        this.unusable.add(id)
        continue
      }
      const transport = createTransport(endpoint, {
        token: target.token,
        ...(this.options.ca && { ca: this.options.ca }),
        policy: this.options.addressPolicy ?? PUBLIC_ONLY,
        timeoutMs: this.options.timeoutMs ?? DRAIN_TIMEOUT_MS,
        userAgent: USER_AGENT,
      })
      const style =
        endpoint.protocol === 'http' || endpoint.protocol === 'https' ? 'logplex' : 'rfc5424'
      this.channels.set(id, new DrainChannel(target, transport, this.settings, style))
    }

    const present = new Set<string>()
    for (const app of apps) {
      const channels = app.drains
        .map((d) => this.channels.get(d.id))
        .filter((c): c is DrainChannel => c !== undefined)
      if (channels.length === 0) continue
      present.add(app.appId)
      const known = this.followed.get(app.appId)
      if (known) {
        known.channels = channels
        known.appName = app.appName
        continue
      }
      const entry: Followed = { appName: app.appName, channels, unfollow: () => undefined }
      entry.unfollow = this.options.logs.follow(app.appId, {}, (line) => {
        for (const channel of entry.channels) channel.push(line, entry.appName)
      })
      this.followed.set(app.appId, entry)
    }
    for (const [appId, f] of this.followed) {
      if (present.has(appId)) continue
      f.unfollow()
      this.followed.delete(appId)
    }
  }
}
