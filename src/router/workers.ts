/**
 * The router in worker processes, to use more than one core: each worker (worker-main.ts)
 * runs a whole Router on the same listeners — exec starts them as Node cluster workers
 * (exec/node-workers.ts), the primary (the daemon) accepting connections and handing them
 * round-robin to the workers, which answer every request on their own. What the daemon's feed
 * tells `routes` goes to every worker (and is replayed to a worker that replaces one that
 * died); their router log lines come back in batches to `options.log`. This file is the
 * router's side only: how many workers, what they are told, a new one for one that dies.
 */
import { entryBeside } from '../exec/node-entry.js'
import { forkNodeWorker, type NodeWorker } from '../exec/node-workers.js'
import type { RouterListen, RouterOptions, RouterService } from './router.js'
import type { RouteUpdates, RouterApp, RouterDyno, RouterSpace } from './routing-table.js'

export interface RouterWorkersOptions extends RouterOptions {
  /** How many worker processes (one per core is the point). */
  workers: number
  /** Node flags for the workers (default: the loader flags this process runs with). */
  execArgv?: string[]
}

/** What a worker is told; `options` is RouterOptions without its functions. */
export type ToWorker =
  | { t: 'start'; options: WorkerRouterOptions }
  | { t: 'app'; app: RouterApp }
  | { t: 'removeApp'; appId: string }
  | { t: 'dynos'; appId: string; dynos: readonly RouterDyno[]; crashed: boolean }
  | { t: 'space'; space: RouterSpace }
  | { t: 'removeSpace'; spaceId: string }
  /** Answer `applied` with the same number once everything before it is in force. */
  | { t: 'applied?'; seq: number }
  | { t: 'stop' }

export type FromWorker =
  /** Listening for messages (those sent before are lost): the primary may send `start`. */
  | { t: 'hello' }
  | { t: 'ready'; addresses: RouterListen[] }
  | { t: 'failed'; message: string }
  | { t: 'logs'; lines: Array<[appId: string, text: string]> }
  | { t: 'warn'; text: string }
  | { t: 'applied'; seq: number }
  | { t: 'stopped' }

/** A worker process as the primary sees it. */
type Worker = NodeWorker<ToWorker, FromWorker>

export type WorkerRouterOptions = Omit<RouterOptions, 'log' | 'warn' | 'tls'> & {
  tls?: { cert: string; key: string }
}

/** How long a worker gets to start, and to stop before it is killed. */
const START_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 5_000
const RESTART_DELAY_MS = 1_000

interface Running {
  worker: Worker
  /** The highest `applied?` it has answered. */
  applied: number
}

export class RouterWorkers implements RouterService, RouteUpdates {
  readonly domain: string
  /** Workers that listen and route. */
  private readonly running = new Set<Running>()
  /** Every worker forked and not gone yet, starting ones too. */
  private readonly forked = new Set<Worker>()
  // The current state, for a worker that replaces one that died.
  private readonly apps = new Map<string, RouterApp>()
  private readonly dynos = new Map<string, { dynos: readonly RouterDyno[]; crashed: boolean }>()
  private readonly spaces = new Map<string, RouterSpace>()
  private listening: RouterListen[] = []
  private seq = 0
  private readonly waiting: Array<{ seq: number; fn: () => void }> = []
  private closing = false

  constructor(private readonly options: RouterWorkersOptions) {
    this.domain = options.domain
  }

  get routes(): RouteUpdates {
    return this
  }

  /** Starts every worker; rejects (and stops those started) if one cannot listen. */
  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.options.workers }, () => this.fork()))
    } catch (e) {
      await this.close()
      throw e
    }
  }

  addresses(): RouterListen[] {
    return this.listening
  }

  /** Process ids of the workers that route now. */
  workerPids(): number[] {
    return [...this.running].map((r) => r.worker.pid!)
  }

  async close(): Promise<void> {
    this.closing = true
    await Promise.all([...this.forked].map((w) => stop(w)))
    this.running.clear()
  }

  /**
   * Calls `fn` once every running worker has answered that it holds every update so far. With
   * no worker running (none started yet, all died) nothing holds them: `fn` waits for a
   * worker that starts (it is given the whole state and asked), and never runs once closed.
   */
  afterApplied(fn: () => void): void {
    if (this.closing) return
    const seq = ++this.seq
    this.waiting.push({ seq, fn })
    this.broadcast({ t: 'applied?', seq })
  }

  setApp(app: RouterApp): void {
    this.apps.set(app.id, app)
    this.broadcast({ t: 'app', app })
  }

  removeApp(appId: string): void {
    this.apps.delete(appId)
    this.dynos.delete(appId)
    this.broadcast({ t: 'removeApp', appId })
  }

  setDynos(appId: string, dynos: readonly RouterDyno[], crashed = false): void {
    if (!this.apps.has(appId)) return // as the table: dynos of an unknown app are ignored
    this.dynos.set(appId, { dynos, crashed })
    this.broadcast({ t: 'dynos', appId, dynos, crashed })
  }

  setSpace(space: RouterSpace): void {
    this.spaces.set(space.id, space)
    this.broadcast({ t: 'space', space })
  }

  removeSpace(spaceId: string): void {
    this.spaces.delete(spaceId)
    this.broadcast({ t: 'removeSpace', spaceId })
  }

  private broadcast(message: ToWorker): void {
    for (const r of this.running) send(r.worker, message)
  }

  /** Forks a worker, gives it the current state and waits until it listens. */
  private fork(): Promise<void> {
    const { log: _log, warn: _warn, tls, ...rest } = this.options
    const options: WorkerRouterOptions = {
      ...rest,
      ...(tls && { tls: { cert: tls.cert.toString(), key: tls.key.toString() } }),
    }
    const worker: Worker = forkNodeWorker(workerMain, { execArgv: this.options.execArgv })
    this.forked.add(worker)
    const running: Running = { worker, applied: 0 }
    return new Promise((resolve, reject) => {
      let ready = false
      const timer = setTimeout(() => {
        worker.kill('SIGKILL')
        reject(new Error(`a router worker did not start within ${START_TIMEOUT_MS} ms`))
      }, START_TIMEOUT_MS)
      worker.onMessage((m) => {
        switch (m.t) {
          case 'hello':
            send(worker, { t: 'start', options })
            break
          case 'ready':
            ready = true
            clearTimeout(timer)
            if (this.closing) return void stop(worker)
            this.listening = m.addresses
            this.running.add(running)
            // Told after it listens: a reply to `applied?` then covers all of this.
            for (const space of this.spaces.values()) send(worker, { t: 'space', space })
            for (const app of this.apps.values()) send(worker, { t: 'app', app })
            for (const [appId, d] of this.dynos) send(worker, { t: 'dynos', appId, ...d })
            if (this.waiting.length > 0) send(worker, { t: 'applied?', seq: this.seq })
            resolve()
            break
          case 'failed':
            clearTimeout(timer)
            reject(new Error(m.message))
            break
          case 'logs':
            for (const [appId, text] of m.lines) this.options.log(appId, text)
            break
          case 'warn':
            this.options.warn?.(m.text)
            break
          case 'applied':
            running.applied = m.seq
            this.release()
            break
          case 'stopped':
            break
        }
      })
      worker.onExit((code, signal) => {
        clearTimeout(timer)
        this.forked.delete(worker)
        this.running.delete(running)
        this.release()
        if (!ready)
          return reject(new Error(`a router worker exited (${signal ?? code}) before it listened`))
        if (this.closing) return
        this.options.warn?.(
          `router worker ${worker.pid} exited (${signal ?? code}); starting another`,
        )
        // A moment first: a worker that dies at once must not make a busy loop of forks.
        setTimeout(() => {
          if (this.closing) return
          this.fork().catch((e: Error) => this.options.warn?.(`router worker: ${e.message}`))
        }, RESTART_DELAY_MS).unref()
      })
    })
  }

  /** Runs the `afterApplied` callbacks every running worker has caught up with. */
  private release(): void {
    if (this.running.size === 0 || this.closing) return // no worker applied them
    const low = Math.min(...[...this.running].map((r) => r.applied))
    while (this.waiting.length > 0 && this.waiting[0]!.seq <= low) this.waiting.shift()!.fn()
  }
}

/** Sends unless the worker's channel is closed (it is gone or going). */
function send(worker: Worker, message: ToWorker): void {
  worker.send(message)
}

/** Asks the worker to stop (it sends its last log lines first); kills it if it takes too long. */
function stop(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve()
    const timer = setTimeout(() => worker.kill('SIGKILL'), STOP_TIMEOUT_MS)
    worker.onExit(() => {
      clearTimeout(timer)
      resolve()
    })
    send(worker, { t: 'stop' })
  })
}

/** worker-main beside this file (`.ts` from source, `.js` when built). */
const workerMain = entryBeside(import.meta.url, 'worker-main')
