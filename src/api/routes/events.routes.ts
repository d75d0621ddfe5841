/**
 * GET /localspace/events: the daemon's event stream as Server-Sent Events, for the dashboard's
 * live views (a space turning `allocated`, dynos starting and crashing, a new release).
 *
 * Each event names what changed (`{"space": id}` or `{"app": id, "space": id|null}`), never
 * what it now is: the page reads that through the API, with the same authorisation as always.
 * Still, a caller hears only of spaces and apps it may see (team roles, src/api/access.ts), and
 * of the ones it saw before they were deleted. The stream ends when the dashboard session
 * behind it does (sign-out, expiry).
 */
import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { Account } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import { findApp, findSpace } from '../access.js'

/** A comment line on an idle stream, so proxies keep it; also when a session is rechecked. */
const KEEPALIVE_MS = 25_000
/** A reader this far behind is cut off (it reconnects and reloads) rather than growing memory. */
const MAX_BUFFERED_BYTES = 256 * 1024

const SPACE_EVENTS = [
  'space.changed',
  'space.converged',
  'ruleset.changed',
  'network.changed',
] as const
const APP_EVENTS = ['app.changed', 'formation.changed', 'dynos.changed', 'domains.changed'] as const

export interface StreamEvent {
  event: string
  data: { space?: string | null; app?: string }
}

/**
 * Decides which events one account may hear. Remembers what it allowed, so the deletion of a
 * space or app the account could see still reaches it (afterwards there is nothing to check).
 */
export class EventVisibility {
  private readonly seen = new Map<string, string | null>()

  constructor(
    private readonly store: Store,
    private readonly account: Account,
  ) {}

  space(event: string, spaceId: string): StreamEvent | undefined {
    if (!this.seen.has(spaceId)) {
      if (
        !this.store.spaces.find(spaceId) ||
        !this.allowed(() => findSpace(this.store, this.account, spaceId))
      ) {
        return undefined
      }
      this.seen.set(spaceId, spaceId)
    }
    return { event, data: { space: spaceId } }
  }

  app(event: string, appId: string): StreamEvent | undefined {
    if (!this.seen.has(appId)) {
      const app = this.store.apps.find(appId)
      if (!app || !this.allowed(() => findApp(this.store, this.account, appId))) return undefined
      this.seen.set(appId, app.spaceId)
    }
    return { event, data: { app: appId, space: this.seen.get(appId) ?? null } }
  }

  private allowed(check: () => unknown): boolean {
    try {
      check()
      return true
    } catch {
      return false
    }
  }
}

export function eventRoutes(app: FastifyInstance): void {
  const { store, events, sessions } = app.ctx
  const open = new Set<ServerResponse>()
  app.addHook('preClose', async () => {
    for (const res of open) res.end()
  })

  app.get('/localspace/events', async (request, reply) => {
    const visibility = new EventVisibility(store, request.account)
    const session = request.dashboardSession
    const res = reply.raw
    void reply.hijack()
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': request.id,
    })
    res.write(': connected\n\n')
    const send = (e: StreamEvent | undefined) => {
      if (!e) return
      if (res.writableLength > MAX_BUFFERED_BYTES) return res.end()
      res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
    }
    const stops = [
      ...SPACE_EVENTS.map((name) => events.on(name, (id) => send(visibility.space(name, id)))),
      ...APP_EVENTS.map((name) => events.on(name, (id: string) => send(visibility.app(name, id)))),
      events.on('build.created', (buildId) => {
        const build = store.builds.find(buildId)
        if (build) send(visibility.app('build.created', build.appId))
      }),
      sessions.onEnd((id) => {
        if (session?.id === id) res.end()
      }),
    ]
    const timer = setInterval(() => {
      if (session && !sessions.isLive(session)) res.end()
      else res.write(': keepalive\n\n')
    }, KEEPALIVE_MS)
    timer.unref()
    open.add(res)
    res.once('close', () => {
      for (const stop of stops) stop()
      clearInterval(timer)
      open.delete(res)
    })
    return reply
  })
}
