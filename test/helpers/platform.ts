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
import { AddressPolicy } from '../../src/core/address-policy.js'
import { newId } from '../../src/core/ids.js'
import type { Account, Space } from '../../src/core/types.js'
import { createAccount } from '../../src/platform/accounts.js'
import type { PlatformContext } from '../../src/platform/context.js'
import { createSpace } from '../../src/platform/spaces.js'
import { createTeam } from '../../src/platform/teams.js'
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
  'vpn.changed',
  'peering.changed',
  'addons.changed',
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

/** A team of the platform's user, and a space of it (nothing on the host: no agent runs). */
export function makeSpace(p: TestPlatform): Space {
  const team = createTeam(p.store, p.user, `team-${newId().slice(0, 8)}`)
  return createSpace(
    p.ctx,
    p.user,
    { name: `space-${newId().slice(0, 8)}`, team },
    { reservedCidrs: [], egressPools: [], egressPerSpace: 0, addressPolicy: new AddressPolicy() },
  )
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
