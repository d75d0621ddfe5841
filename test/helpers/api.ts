/**
 * An in-process API for tests: a fresh SQLite store in a temp dir, an admin with an API key,
 * and `call()`, which sends a request through Fastify's inject() and checks every JSON
 * success body against Heroku's schema. The network agent converges a host in memory; the
 * router feed feeds an in-process router's table (no listeners), which is what marks inbound
 * rulesets applied.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildServer, type ApiServerOptions } from '../../src/api/server.js'
import { EventBus } from '../../src/core/events.js'
import { DEFAULT_EGRESS_PER_SPACE } from '../../src/core/egress.js'
import { createAccount, issueApiKey } from '../../src/platform/accounts.js'
import { Store } from '../../src/store/store.js'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import { RouterFeed } from '../../src/daemon/router-feed.js'
import { Router } from '../../src/router/index.js'
import { MemorySpaceHost } from './memory-host.js'
import { checkResponse } from './schema.js'

export interface CallOptions {
  key?: string | null
  headers?: Record<string, string>
  /** A raw body string (sent as is) instead of JSON-encoding `body`. */
  raw?: string
}

export interface Reply {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: any // JSON of any shape: tests assert on it
}

export interface TestApi {
  server: FastifyInstance
  store: Store
  agent: NetworkAgent
  host: MemorySpaceHost
  events: EventBus
  adminKey: string
  dir: string
  call(method: string, path: string, body?: unknown, options?: CallOptions): Promise<Reply>
  /** Makes a (non-admin) account and returns its API key. */
  user(email: string): string
  close(): Promise<void>
}

export async function startTestApi(options: Partial<ApiServerOptions> = {}): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-test-'))
  const store = Store.open(join(dir, 'localspace.db'))
  const events = new EventBus()
  const host = new MemorySpaceHost()
  const agent = new NetworkAgent(store, events, host, {
    settings: { egressPoolCidrs: [], allowPrivate: [], routerListeners: [] },
    intervalMs: 0,
    egress: {
      pools: options.egressPools ?? [],
      perSpace: options.egressPerSpace ?? DEFAULT_EGRESS_PER_SPACE,
    },
  })
  await agent.start()
  const router = new Router({ domain: 'localhost', listen: [], log: () => undefined })
  const routerFeed = new RouterFeed({ store, events, router, dynos: () => [], port: 5000 })
  routerFeed.start()
  const admin = createAccount(store, {
    email: 'admin@localspace.localhost',
    password: 'admin-password',
    isAdmin: true,
  })
  const adminKey = issueApiKey(store, admin, 'test', null).token
  const server = buildServer({ store, events, ...options })
  await server.ready()

  const call = async (method: string, path: string, body?: unknown, opts: CallOptions = {}) => {
    const key = opts.key === undefined ? adminKey : opts.key
    const headers: Record<string, string> = {
      accept: 'application/vnd.heroku+json; version=3',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined || opts.raw !== undefined
        ? { 'content-type': 'application/json' }
        : {}),
      ...opts.headers,
    }
    const res = await server.inject({
      method: method as 'GET',
      url: path,
      headers,
      ...(opts.raw !== undefined
        ? { payload: opts.raw }
        : body !== undefined
          ? { payload: JSON.stringify(body) }
          : {}),
    })
    // Changes converge through the agent; wait for it as a client would poll.
    await agent.idle()
    const text = res.body
    const parsed: unknown = text === '' ? undefined : JSON.parse(text)
    if (res.statusCode < 300 && parsed !== undefined) {
      const check = checkResponse(method, path, parsed)
      assert.deepEqual(
        check.errors,
        [],
        `${method} ${path} response does not match Heroku's schema`,
      )
    } else if (res.statusCode >= 400) {
      // Every error has Heroku's shape.
      assert.equal(
        typeof (parsed as { id?: unknown }).id,
        'string',
        `${method} ${path}: error without id`,
      )
      assert.equal(typeof (parsed as { message?: unknown }).message, 'string')
    }
    return { status: res.statusCode, headers: res.headers, body: parsed }
  }

  return {
    server,
    store,
    agent,
    host,
    events,
    adminKey,
    dir,
    call,
    user(email: string) {
      const account = createAccount(store, { email, password: 'user-password', isAdmin: false })
      return issueApiKey(store, account, 'test', null).token
    },
    async close() {
      await agent.stop()
      await routerFeed.stop()
      await router.close()
      await server.close()
      store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
