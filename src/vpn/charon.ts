/**
 * One charon (strongSwan's IKE daemon) per space, in the space's VPN gateway network
 * namespace, started detached so it outlives the daemon like dynos do (exec/detached.ts),
 * adopted by the next daemon, restarted when it dies, and stopped leaving nothing behind.
 *
 * Everything of one charon lives in one directory of the data dir (charonPaths): its
 * strongswan.conf and swanctl.conf (both rendered by us), its vici socket, its log, the
 * detached-process record and its exit status. charon's pid file is fixed at
 * /var/run/charon.pid, so each charon gets an empty /run of its own: a private mount namespace
 * with a tmpfs on /run, which disappears with the process.
 */
import { mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  checkDetached,
  isAlive,
  readRecord,
  startDetached,
  waitForExit,
  type DetachedRecord,
} from '../exec/detached.js'
import type { Exec } from '../exec/run.js'
import { renderStrongswanConf } from './strongswan-conf.js'
import { ViciClient } from './vici.js'

/** Debian's strongswan-charon puts the daemon here (not on PATH). */
export const CHARON_BINARY = '/usr/lib/ipsec/charon'

export interface CharonPaths {
  dir: string
  strongswanConf: string
  swanctlConf: string
  viciSocket: string
  /** The DetachedRecord (pid, start time, boot id) that lets the next daemon adopt it. */
  record: string
  /** In a directory of its own, as waitForExit wants. */
  statusFile: string
  /** charon's log (its filelog). */
  log: string
  /** stdout and stderr of the launch chain (errors before charon's logger runs). */
  output: string
}

const SPACE_ID = /^[A-Za-z0-9_-]{1,64}$/
const NETNS = /^[A-Za-z0-9_.-]{1,64}$/
/** sun_path is 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 107

export function charonPaths(dataDir: string, spaceId: string): CharonPaths {
  if (!SPACE_ID.test(spaceId)) throw new Error(`space id ${JSON.stringify(spaceId)} is unsafe`)
  const dir = join(dataDir, 'vpn', spaceId)
  const paths = {
    dir,
    strongswanConf: join(dir, 'strongswan.conf'),
    swanctlConf: join(dir, 'swanctl', 'swanctl.conf'),
    viciSocket: join(dir, 'charon.vici'),
    record: join(dir, 'charon.json'),
    statusFile: join(dir, 'exit', 'status'),
    log: join(dir, 'charon.log'),
    output: join(dir, 'charon.out'),
  }
  if (Buffer.byteLength(paths.viciSocket) > MAX_SOCKET_PATH)
    throw new Error(`${paths.viciSocket} is too long for a Unix socket: use a shorter --data-dir`)
  return paths
}

/**
 * Run inside the new mount namespace, before charon. The namespace starts with copies of the
 * host's mounts; the named network namespaces among them (/run/netns/*) would stay pinned as
 * long as charon runs, so a deleted space's namespace would never really go away. So: detach
 * everything under /run, then mount an empty /run (charon writes its pid file there).
 */
const LAUNCH = `set -e
awk '$5 ~ "^/run/." { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null || true
done
mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev localspace-vpn /run
exec "$1"`

export interface CharonOptions {
  spaceId: string
  /** The network namespace (an `ip netns` name) charon runs in. */
  netns: string
  dataDir: string
  /** From kernelHasEsp(): false loads kernel-libipsec (userspace ESP). */
  kernelEsp: boolean
  exec: Exec
  /** After the supervisor restarted a charon that died: its configuration is empty again. */
  onRestart?: () => void
  onError?: (error: Error) => void
  /** How long a start may take until vici answers. */
  readyTimeoutMs?: number
}

export class Charon {
  readonly paths: CharonPaths
  private record: DetachedRecord | undefined
  private supervisor: AbortController | undefined
  private supervising: Promise<void> | undefined
  private stopping = false
  private starting: Promise<void> | undefined

  constructor(private readonly options: CharonOptions) {
    if (!NETNS.test(options.netns)) throw new Error(`netns ${JSON.stringify(options.netns)}`)
    this.paths = charonPaths(options.dataDir, options.spaceId)
  }

  /**
   * Adopts the charon a previous daemon left running, or starts one; resolves once vici
   * answers. From then on a charon that dies is restarted (and `onRestart` called).
   * `started` is false when an existing one was adopted (its configuration is still loaded).
   */
  async ensureRunning(): Promise<{ started: boolean }> {
    this.stopping = false
    // A start under way (the supervisor's, after a crash) is this start too: never two charons.
    await this.starting?.catch(() => undefined)
    let started = false
    if (this.record === undefined || !(await isAlive(this.record))) {
      const previous = await readRecord(this.paths.record).catch(() => undefined)
      if (previous !== undefined && (await isAlive(previous))) this.record = previous
      else {
        await this.start()
        started = true
      }
    }
    await this.waitReady()
    this.supervise()
    return { started }
  }

  /** A new vici connection to this charon (the caller closes it). */
  connect(): Promise<ViciClient> {
    return ViciClient.connect(this.paths.viciSocket)
  }

  /**
   * Loads a swanctl.conf with `swanctl --load-all --clear`, which also unloads connections and
   * pre-shared keys it no longer has. The file is written whole under a temporary name and
   * renamed into place only once charon took it, so `swanctlConf` is always exactly what the
   * running charon has loaded (what the next daemon compares against when it adopts).
   */
  async loadSwanctl(text: string): Promise<void> {
    const tmp = `${this.paths.swanctlConf}.tmp`
    await writeFile(tmp, text, { mode: 0o600 })
    try {
      await this.options.exec('swanctl', [
        '--load-all',
        '--clear',
        '--noprompt',
        '--file',
        tmp,
        '--uri',
        `unix://${this.paths.viciSocket}`,
      ])
    } catch (e) {
      await rm(this.paths.swanctlConf, { force: true })
      throw e
    }
    await rename(tmp, this.paths.swanctlConf)
  }

  /** What the running charon has loaded (undefined: nothing, or not known). */
  loadedSwanctl(): Promise<string | undefined> {
    return readFile(this.paths.swanctlConf, 'utf8').catch(() => undefined)
  }

  /**
   * Stops charon (SIGTERM to its process group, SIGKILL after `graceMs`) and removes its
   * directory. Its /run went with its mount namespace; its TUN device and routes with it.
   */
  async stop(graceMs = 5000): Promise<void> {
    await this.release()
    this.record = undefined
    await stopCharon(this.options.dataDir, this.options.spaceId, graceMs)
  }

  /** Ends supervision only: charon keeps running for the next daemon to adopt. */
  async release(): Promise<void> {
    this.stopping = true
    this.supervisor?.abort()
    await this.supervising
  }

  /** launch + waitReady, once at a time. */
  private start(): Promise<void> {
    this.starting ??= (async () => {
      await this.launch()
      await this.waitReady()
    })().finally(() => (this.starting = undefined))
    return this.starting
  }

  private async launch(): Promise<void> {
    const p = this.paths
    await mkdir(join(p.swanctlConf, '..'), { recursive: true, mode: 0o700 })
    await mkdir(join(p.statusFile, '..'), { recursive: true, mode: 0o700 })
    await rm(p.statusFile, { force: true })
    // swanctl.conf on disk is what the running charon has loaded (adoption relies on it); a
    // new charon has loaded nothing.
    await rm(p.swanctlConf, { force: true })
    // A socket file left by a killed charon: nobody listens on it any more.
    await unlink(p.viciSocket).catch(() => undefined)
    await writeFile(
      p.strongswanConf,
      renderStrongswanConf({
        viciSocket: p.viciSocket,
        kernelEsp: this.options.kernelEsp,
        logFile: p.log,
      }),
      { mode: 0o600 },
    )
    this.record = await startDetached(
      'nsenter',
      [
        `--net=/run/netns/${this.options.netns}`,
        '--',
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        LAUNCH,
        'localspace-charon',
        CHARON_BINARY,
      ],
      {
        env: {
          PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
          STRONGSWAN_CONF: p.strongswanConf,
        },
        stdoutFile: p.output,
        stderrFile: p.output,
        statusFile: p.statusFile,
        recordFile: p.record,
        name: `localspace-charon-${this.options.spaceId}`,
      },
    )
  }

  /** Polls until vici answers `version`; fails early when the process has exited. */
  private async waitReady(): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 10_000)
    for (;;) {
      const client = await ViciClient.connect(this.paths.viciSocket, 1000).catch(() => undefined)
      if (client !== undefined) {
        try {
          await client.version()
          return
        } catch {
          // Connected while charon was still starting up: try again.
        } finally {
          client.close()
        }
      }
      const record = this.record
      const state = record === undefined ? undefined : await checkDetached(record)
      if (state !== undefined && state.state !== 'running')
        throw new Error(`charon of space ${this.options.spaceId} exited: ${await this.logTail()}`)
      if (Date.now() > deadline)
        throw new Error(`charon of space ${this.options.spaceId} did not answer on vici`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** Waits for the charon to die and starts it again, until stop(). */
  private supervise(): void {
    if (this.supervising !== undefined || this.record === undefined) return
    const abort = new AbortController()
    this.supervisor = abort
    this.supervising = (async () => {
      while (!this.stopping && this.record !== undefined) {
        const startedAt = Date.now()
        const state = await waitForExit(this.record, { pollMs: 250, signal: abort.signal })
        if (this.stopping || state.state === 'running') break
        // A charon that dies at once (bad config, missing binary) must not spin.
        if (Date.now() - startedAt < 2000) await new Promise((r) => setTimeout(r, 1000))
        if (this.stopping) break
        try {
          // ensureRunning may have started one meanwhile.
          if (!(await isAlive(this.record))) await this.start()
          this.options.onRestart?.()
        } catch (e) {
          this.options.onError?.(e as Error)
        }
      }
    })().finally(() => {
      this.supervising = undefined
      this.supervisor = undefined
    })
  }

  private async logTail(): Promise<string> {
    const text = await readFile(this.paths.log, 'utf8').catch(() => '')
    return text.split('\n').slice(-10).join('\n')
  }
}

/** The wrapper is a session (and group) leader: the group is it, nsenter's chain and charon. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // Gone already.
  }
}

/**
 * Stops the charon recorded in a space's directory, whoever started it, and removes the
 * directory: also for spaces a previous daemon left behind.
 */
export async function stopCharon(dataDir: string, spaceId: string, graceMs = 5000): Promise<void> {
  const paths = charonPaths(dataDir, spaceId)
  const record = await readRecord(paths.record).catch(() => undefined)
  if (record !== undefined && (await isAlive(record))) {
    signalGroup(record.pid, 'SIGTERM')
    const exited = await waitForExit(record, { pollMs: 50, signal: AbortSignal.timeout(graceMs) })
    if (exited.state === 'running') {
      signalGroup(record.pid, 'SIGKILL')
      await waitForExit(record, { pollMs: 50 })
    }
  }
  await rm(paths.dir, { recursive: true, force: true })
}
