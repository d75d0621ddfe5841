/**
 * What differs between Postgres and Redis, behind one shape, so that starting, adopting,
 * supervising and destroying a server (server.ts) is written once.
 */
import type { Exec } from '../exec/run.js'
import type { DataLayout } from './layout.js'
import type { DataUser } from './system-user.js'
import type { ConnectionFacts, DataServerSpec } from './types.js'

export interface EngineContext {
  spec: DataServerSpec
  layout: DataLayout
  user: DataUser
  exec: Exec
  /** The server's network namespace (`ls-<8hex>`). */
  netns: string
}

export interface Engine {
  /** The TCP port it listens on (TLS only). */
  port: number
  /** Its clean, fast shutdown (Postgres: SIGINT; Redis: SIGTERM, which flushes the AOF). */
  stopSignal: NodeJS.Signals
  /** Makes or refreshes its files (data directory, configuration, certificate); idempotent. */
  prepare(ctx: EngineContext): Promise<void>
  /** The server's command line (run as the data user inside its namespace). */
  argv(ctx: EngineContext): string[]
  /** One probe: true once it accepts an authenticated TLS connection. */
  ready(ctx: EngineContext): Promise<boolean>
  /** After each start, once ready (Postgres: the add-on's role and database exist). */
  afterReady(ctx: EngineContext): Promise<void>
  /** Re-reads configuration without a restart (Postgres: hba for a new follower). */
  reload(ctx: EngineContext, pid: number): Promise<void>
  facts(ctx: EngineContext): Promise<ConnectionFacts>
}

/** Runs `cmd` inside the server's namespace, as root (the platform's own clients). */
export const inNamespace = (
  ctx: Pick<EngineContext, 'exec' | 'netns'>,
  cmd: string,
  args: readonly string[],
  options?: Parameters<Exec>[2],
) => ctx.exec('ip', ['netns', 'exec', ctx.netns, cmd, ...args], options)
