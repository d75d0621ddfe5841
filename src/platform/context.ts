/**
 * What every platform use case is handed: the store it commits desired state to, the event bus
 * it tells the daemon's modules on after the commit, and where it logs `heroku[api]` lines.
 * The callers (routes, git push, the builder, the daemon) make one and pass it on.
 */
import type { EventBus } from '../core/events.js'
import type { LogView } from '../core/log-view.js'
import type { Account } from '../core/types.js'
import type { Store } from '../store/store.js'

export interface PlatformContext {
  store: Store
  events: EventBus
  /** Per-app logs; absent: nothing is logged (a builder without a log store, some tests). */
  logs?: LogView
}

/** Who asks for a change: recorded on builds and releases, named in the app's log. */
export type Actor = Pick<Account, 'id' | 'email'>
