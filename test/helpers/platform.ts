/**
 * A platform context for unit tests of src/platform: a fresh SQLite store in a temp dir, an
 * event bus whose every event is recorded with whether the store was still inside a
 * transaction when it was emitted (it must not be: events follow the commit), and a log view
 * that keeps what it is given.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventBus, type PlatformEvents } from '../../src/core/events.js'
import type { LogEntry, LogView } from '../../src/core/log-view.js'
import type { Account } from '../../src/core/types.js'
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
