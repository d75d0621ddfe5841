/**
 * A platform context for unit tests of src/platform: a fresh SQLite store in a temp dir, an
 * event bus whose every event is recorded with whether the store was still inside a
 * transaction when it was emitted (it must not be: events follow the commit), and a log view
 * that keeps what it is given.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PlatformError } from '../../src/core/errors.js'
import { EventBus, type PlatformEvents } from '../../src/core/events.js'
import type { LogEntry, LogView } from '../../src/core/log-view.js'
import { newId, nowIso } from '../../src/core/ids.js'
import type { Account, Space } from '../../src/core/types.js'
import { createAccount } from '../../src/platform/accounts.js'
import type { PlatformContext } from '../../src/platform/context.js'
import { Store } from '../../src/store/store.js'

export interface Emitted {
  event: keyof PlatformEvents
  id: string
  inTransaction: boolean
}

export interface TestPlatform {
  ctx: PlatformContext
  store: Store
  emitted: Emitted[]
  logged: { appId: string; entry: LogEntry }[]
  /** An account to act as. */
  user: Account
  close(): void
}

const EVENTS: (keyof PlatformEvents)[] = [
  'space.changed',
  'ruleset.changed',
  'network.changed',
  'app.changed',
  'formation.changed',
  'build.created',
  'drains.changed',
  'domains.changed',
]

export function startTestPlatform(): TestPlatform {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-platform-'))
  const store = Store.open(join(dir, 'localspace.db'))
  const events = new EventBus()
  const emitted: Emitted[] = []
  for (const event of EVENTS) {
    events.on(event as 'app.changed', (id) => {
      emitted.push({ event, id, inTransaction: store.db.inTransaction })
    })
  }
  const logged: TestPlatform['logged'] = []
  const logs: LogView = {
    append: (appId, entry) => logged.push({ appId, entry }),
    recent: () => [],
    follow: () => () => undefined,
  }
  const user = createAccount(store, {
    email: 'dev@localspace.localhost',
    password: 'dev-password',
    isAdmin: false,
  })
  return {
    ctx: { store, events, logs },
    store,
    emitted,
    logged,
    user,
    close() {
      store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A team and a space of it, written straight to the store (spaces have their own rules). */
export function insertSpace(p: TestPlatform): Space {
  const now = nowIso()
  const team = { id: newId(), name: `team-${newId().slice(0, 8)}`, createdAt: now, updatedAt: now }
  p.store.teams.insert(team)
  const space: Space = {
    id: newId(),
    name: `space-${newId().slice(0, 8)}`,
    teamId: team.id,
    teamName: team.name,
    region: 'virginia',
    state: 'allocated',
    shield: false,
    cidr: '10.0.0.0/16',
    dataCidr: '10.1.0.0/16',
    generation: 'cedar',
    createdAt: now,
    updatedAt: now,
  }
  p.store.spaces.insert(space)
  return p.store.spaces.find(space.id)!
}

/** Asserts `fn` is refused with a PlatformError saying `message`, of this status. */
export function assertRefused(fn: () => unknown, message: RegExp, status = 422): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PlatformError, String(e))
    assert.equal(e.statusCode, status)
    assert.match(e.message, message)
    return true
  })
}
