/**
 * Turns formation into dynos (docs/design.md §5): for every app in an allocated space with a
 * released slug, `quantity` dynos of each process type, numbered from 1, running the current
 * release. It converges an app on every formation, app or release change, the apps of a space
 * when the space changes, and all of them on a timer (reconcile-loop.ts); what to start and
 * stop is planned by `planFormation` (formation-plan.ts) and carried out here. It also carries
 * out `ps:restart`/`ps:stop`.
 *
 * Dynos outlive the daemon: on start it adopts what it finds under `<dataDir>/dynos`, and on
 * stop it lets them run.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { errors } from '../core/errors.js'
import type { EventBus } from '../core/events.js'
import { newId, nowIso } from '../core/ids.js'
import type { LogView } from '../core/log-view.js'
import type { DynoView, OneOffSpec, OneOffView } from '../core/runtime-view.js'
import { findDynoSize } from '../core/sizes.js'
import type { App, Attachment } from '../core/types.js'
import type { DynoProcess, DynoSpec } from '../runtime/index.js'
import type { Store } from '../store/store.js'
import { planFormation, type DesiredFormation } from './formation-plan.js'
import { Dyno, type DynoContext, type DynoFile } from './dyno.js'
import { ONE_OFF_FILE, OneOffDyno, type OneOffContext, type OneOffFile } from './one-off.js'
import { AttachSession } from './one-off-session.js'
import { ReconcileLoop, type ReconcileScope } from './reconcile-loop.js'

/** A released slug on disk: the directory dynos run from and its Procfile's commands. */
export interface SlugOnDisk {
  dir: string
  processTypes: Record<string, string>
}

export interface RuntimeAgentOptions {
  /** Dynos live under `<dir>/<dyno id>/`. */
  dir: string
  logs: LogView
  network: {
    attach(spaceId: string, kind: 'dyno', owner: string): Promise<Attachment>
    detach(attachmentId: string): Promise<void>
  }
  startProcess(spec: DynoSpec): Promise<DynoProcess>
  adoptProcess(runDir: string): Promise<DynoProcess>
  slugFor(appId: string, slugId: string): SlugOnDisk | undefined
  /** The app's unprivileged uid (and gid). */
  uidFor(appId: string): number
  /** $PORT of every dyno (each has its own network namespace, so one number does). */
  port?: number
  bootTimeoutMs?: number
  graceMs?: number
  /** How often running dynos' memory is read for R14/R15 (default 5 s). */
  memoryCheckMs?: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  intervalMs?: number
  /** How long an attached one-off waits for its client before it is removed. */
  rendezvousTimeoutMs?: number
  log?: (message: string) => void
}

export const DEFAULT_DYNO_PORT = 5000
export const DEFAULT_RENDEZVOUS_TIMEOUT_MS = 120_000
const DEFAULT_BACKOFF_MAX_MS = 20 * 60_000

export class RuntimeAgent {
  /** Every dyno this daemon knows, by id; a stopped one leaves once it is gone. */
  private readonly dynos = new Map<string, Dyno>()
  /** Converges, one at a time, of the apps kicked meanwhile (by id) or of all. */
  private readonly loop: ReconcileLoop<string>
  private readonly unsubscribe: Array<() => void> = []
  private readonly ctxBase: Omit<DynoContext, 'dir'>
  /**
   * Dynos on their way out. A converge does not wait for them: a stop may take the whole grace
   * period (30 s), and every other change, of any app, would wait that long behind it.
   */
  private readonly removals = new Set<Promise<void>>()
  /** One-off dynos (`run.N`), by id: outside formation, so outside the converge. */
  private readonly oneOffs = new Map<string, OneOffDyno>()
  /** Attached one-offs waiting for their client, by rendezvous token. */
  private readonly rendezvousWaiting = new Map<
    string,
    { dyno: OneOffDyno; timer: NodeJS.Timeout }
  >()

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly options: RuntimeAgentOptions,
  ) {
    const base = options.backoffBaseMs ?? 1000
    const max = options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS
    this.ctxBase = {
      logs: options.logs,
      attach: (spaceId, owner) => options.network.attach(spaceId, 'dyno', owner),
      detach: (id) => options.network.detach(id),
      startProcess: (spec) => options.startProcess(spec),
      adoptProcess: (runDir) => options.adoptProcess(runDir),
      port: options.port ?? DEFAULT_DYNO_PORT,
      bootTimeoutMs: options.bootTimeoutMs ?? 60_000,
      graceMs: options.graceMs ?? 30_000,
      memoryCheckMs: options.memoryCheckMs ?? 5000,
      backoffMs: (n) => Math.min(max, base * 2 ** (n - 1)),
      changed: (dyno) => this.onDynoChanged(dyno),
    }
    this.loop = new ReconcileLoop<string>({
      run: (scope) => this.converge(scope),
      intervalMs: options.intervalMs ?? 5000,
      onError: (e) => this.options.log?.(`runtime: ${e.message}`),
    })
  }

  private context(dynoId: string): DynoContext {
    return { ...this.ctxBase, dir: join(this.options.dir, dynoId) }
  }

  private oneOffContext(dynoId: string): OneOffContext {
    const { ctxBase: base } = this
    return {
      dir: join(this.options.dir, dynoId),
      logs: base.logs,
      attach: base.attach,
      detach: base.detach,
      startProcess: base.startProcess,
      adoptProcess: base.adoptProcess,
      port: base.port,
      graceMs: base.graceMs,
      memoryCheckMs: base.memoryCheckMs,
      changed: (dyno) => this.events.emit('dynos.changed', dyno.identity.appId),
      gone: (dyno) => {
        if (this.oneOffs.get(dyno.identity.id) === dyno) this.oneOffs.delete(dyno.identity.id)
        this.events.emit('dynos.changed', dyno.identity.appId)
      },
    }
  }

  /** Adopts the dynos a previous daemon left running, then converges. */
  async start(): Promise<void> {
    // Searchable by the apps' uids on the way to their sandboxes; listing stays root's.
    await mkdir(this.options.dir, { recursive: true, mode: 0o711 })
    await chmod(this.options.dir, 0o711)
    for (const entry of await readdir(this.options.dir).catch(() => [])) {
      const text = await readFile(join(this.options.dir, entry, 'dyno.json'), 'utf8').catch(
        () => undefined,
      )
      if (text === undefined) {
        await this.adoptOneOff(entry)
        continue
      }
      const file = JSON.parse(text) as DynoFile
      const dyno = await Dyno.adopt(file, this.context(file.identity.id))
      this.dynos.set(dyno.identity.id, dyno)
    }
    // A change to one app converges that app only: config changes come by the hundred per
    // second and must not cost a pass over every app each. A space's change (its allocation
    // by the network agent included) concerns only the apps in it.
    const appsIn = (spaceId: string) => this.store.apps.forSpace(spaceId).map((a) => a.id)
    const { events } = this
    this.loop
      .follow(events, 'formation.changed', (appId) => appId)
      .follow(events, 'app.changed', (appId) => appId)
      .follow(events, 'space.changed', appsIn)
      .follow(events, 'space.converged', appsIn)
    this.unsubscribe.push(
      this.events.on(
        'dynos.action',
        (appId, action, target) => void this.act(appId, action, target),
      ),
    )
    await this.loop.start()
  }

  /** Lets every dyno run on (a new daemon adopts them); stops watching them. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off()
    await this.loop.stop()
    await Promise.all(this.removals) // a stop under way ends here, not in the next daemon
    for (const dyno of this.dynos.values()) await dyno.release()
    for (const { timer } of this.rendezvousWaiting.values()) clearTimeout(timer)
    this.rendezvousWaiting.clear()
    for (const dyno of this.oneOffs.values()) await dyno.release()
  }

  private async adoptOneOff(entry: string): Promise<void> {
    const text = await readFile(join(this.options.dir, entry, ONE_OFF_FILE), 'utf8').catch(
      () => undefined,
    )
    if (text === undefined) return
    const file = JSON.parse(text) as OneOffFile
    const dyno = await OneOffDyno.adopt(file, this.oneOffContext(file.identity.id))
    this.oneOffs.set(dyno.identity.id, dyno)
  }

  /**
   * `POST /apps/{app}/dynos`: a one-off dyno running `spec.command` from the app's current
   * release, named `<type>.<random 4 digits>` as Heroku names them. A detached one starts at
   * once; an attached one joins the network now and starts when its client connects to the
   * rendezvous (`rendezvousToken`).
   */
  async runOneOff(appId: string, spec: OneOffSpec): Promise<OneOffView> {
    const app = this.store.apps.find(appId)
    if (!app) throw errors.notFound('app')
    if (app.spaceId === null)
      throw errors.invalidParams(
        `One-off dynos run only in Private Spaces: ${app.name} is not in a space.`,
      )
    const space = this.store.spaces.find(app.spaceId)
    if (space?.state !== 'allocated') throw errors.invalidParams('Space is not allocated yet.')
    const release = this.store.releases.current(app.id)
    const slug = release?.slugId ? this.options.slugFor(app.id, release.slugId) : undefined
    if (!release || !slug)
      throw errors.invalidParams(
        `${app.name} has no release with code yet: deploy it first, then run commands.`,
      )
    const size = findDynoSize(spec.size)
    if (!size) throw errors.invalidParams(`Unknown dyno size ${JSON.stringify(spec.size)}.`)
    const taken = new Set(
      [...this.oneOffs.values(), ...this.dynos.values()]
        .filter((d) => d.identity.appId === app.id && d.identity.type === spec.type)
        .map((d) => d.identity.number),
    )
    let number = randomInt(1000, 10_000)
    while (taken.has(number)) number = randomInt(1000, 10_000)
    const id = newId()
    const dyno = new OneOffDyno(
      {
        id,
        appId: app.id,
        appName: app.name,
        spaceId: app.spaceId,
        type: spec.type,
        number,
        releaseId: release.id,
        releaseVersion: release.version,
        command: procfileCommand(spec.command, slug.processTypes),
        size: size.name,
        memoryMb: size.memoryMb,
        uid: this.options.uidFor(app.id),
        slugDir: slug.dir,
        configVars: { ...release.config, ...spec.env },
        createdAt: nowIso(),
        attach: spec.attach,
        ...(spec.timeToLive !== undefined && { timeToLive: spec.timeToLive }),
      },
      this.oneOffContext(id),
    )
    this.oneOffs.set(id, dyno)
    this.events.emit('dynos.changed', app.id)
    const report = (e: unknown) =>
      this.options.log?.(`runtime: ${dyno.name}: ${e instanceof Error ? e.message : String(e)}`)
    if (!spec.attach) {
      dyno.start().catch(report)
      return dyno.view()
    }
    const token = randomBytes(32).toString('base64url')
    const timer = setTimeout(() => {
      this.rendezvousWaiting.delete(token)
      dyno.stop().catch(report)
    }, this.options.rendezvousTimeoutMs ?? DEFAULT_RENDEZVOUS_TIMEOUT_MS)
    timer.unref()
    this.rendezvousWaiting.set(token, { dyno, timer })
    dyno.prepare().catch((e: unknown) => {
      report(e)
      void dyno.stop()
    })
    return { ...dyno.view(), rendezvousToken: token }
  }

  /** Claims a rendezvous token (once) for the client of an attached one-off. */
  rendezvous(token: string): ((socket: Duplex) => void) | undefined {
    const waiting = this.rendezvousWaiting.get(token)
    if (!waiting) return undefined
    this.rendezvousWaiting.delete(token)
    clearTimeout(waiting.timer)
    const { dyno } = waiting
    return (socket) => {
      const session = new AttachSession(socket, () => void dyno.stop())
      void dyno.start(session)
    }
  }

  /** The dynos of an app as the API shows them (`heroku ps`), by name. */
  dynosOf(appId: string): DynoView[] {
    return [...this.dynos.values(), ...this.oneOffs.values()]
      .filter((d) => d.identity.appId === appId && !(d.stopping && d.state === 'down'))
      .map((d) => d.view())
      .sort((a, b) => a.type.localeCompare(b.type) || numberOf(a.name) - numberOf(b.name))
  }

  /** Every dyno of every app (for DNS and the router). */
  allDynos(): Array<{ appId: string; spaceId: string; view: DynoView }> {
    return [...this.dynos.values()].map((d) => ({
      appId: d.identity.appId,
      spaceId: d.identity.spaceId,
      view: d.view(),
    }))
  }

  /** Resolves once no reconcile is running. */
  idle(): Promise<void> {
    return this.loop.idle()
  }

  /**
   * One converge at a time, of one app or of all (no argument); changes meanwhile are
   * gathered and converged together in one more pass.
   */
  reconcile(appId?: string): Promise<void> {
    return appId === undefined ? this.loop.kick() : this.loop.kick(appId)
  }

  private onDynoChanged(dyno: Dyno): void {
    // An older dyno it replaces may go now.
    if (dyno.state === 'up') void this.reconcile(dyno.identity.appId)
    this.events.emit('dynos.changed', dyno.identity.appId)
  }

  /** Converges the apps in `scope` (ids; apps deleted meanwhile lose their dynos), or all. */
  private async converge(scope: ReconcileScope<string>): Promise<void> {
    const apps = new Map<string, App | undefined>()
    if (scope === 'all') {
      for (const app of this.store.apps.all()) apps.set(app.id, app)
      // Apps deleted meanwhile: their dynos go.
      for (const d of [...this.dynos.values(), ...this.oneOffs.values()]) {
        if (!apps.has(d.identity.appId)) apps.set(d.identity.appId, undefined)
      }
    } else {
      for (const id of scope) apps.set(id, this.store.apps.find(id))
    }
    let visited = 0
    for (const [appId, app] of apps) {
      // A pass over every app (the timer) reads the store for each: let the API answer in
      // between rather than stall it for the whole pass.
      if (++visited % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
      this.convergeApp(appId, app)
    }
  }

  /**
   * Carries out the app's formation plan. One-off dynos are not formation: they go only with
   * their app.
   */
  private convergeApp(appId: string, app: App | undefined): void {
    const run = app && this.runnable(app)
    const mine = [...this.dynos.values()].filter((d) => d.identity.appId === appId && !d.stopping)
    const plan = planFormation(
      run?.formation ?? null,
      mine.map((d) => ({ ...d.identity, state: d.state })),
    )
    for (const action of plan) {
      if (action.kind === 'stop') {
        const dyno = this.dynos.get(action.dynoId)
        if (dyno) this.removeInBackground(dyno)
        continue
      }
      if (!app || !run) continue // never: only a formation starts dynos
      // A start, or a replace: the dynos it replaces are stopped by a later plan, once it is up.
      const { type, number, command, size } = action
      const fresh = this.create(app, run.release, run.slug.dir, type, number, command, size)
      void fresh.start()
    }
    if (!app || app.spaceId === null) {
      for (const dyno of this.oneOffs.values()) {
        if (dyno.identity.appId === appId) void dyno.stop()
      }
    }
  }

  /**
   * What the app should run: its formation on its current release and slug; undefined when
   * it runs no formation dyno (outside a space, the space not allocated, nothing released).
   */
  private runnable(app: App) {
    if (app.spaceId === null) return undefined
    const space = this.store.spaces.find(app.spaceId)
    if (space?.state !== 'allocated') return undefined
    const release = this.store.releases.current(app.id)
    const slug = release?.slugId ? this.options.slugFor(app.id, release.slugId) : undefined
    if (!release || !slug) return undefined
    const formation: DesiredFormation = {
      releaseId: release.id,
      processes: this.store.releases.formation(app.id).map((f) => ({
        type: f.type,
        quantity: f.quantity,
        size: f.size,
        command: slug.processTypes[f.type] ?? (f.command || undefined),
      })),
    }
    return { release, slug, formation }
  }

  private removeInBackground(dyno: Dyno): void {
    const removal = this.remove(dyno)
      .catch((e: unknown) =>
        this.options.log?.(
          `runtime: stopping ${dyno.name}: ${e instanceof Error ? e.message : String(e)}`,
        ),
      )
      .finally(() => this.removals.delete(removal))
    this.removals.add(removal)
  }

  private create(
    app: App,
    release: { id: string; version: number; config: Record<string, string> },
    slugDir: string,
    type: string,
    number: number,
    command: string,
    size: string,
  ): Dyno {
    const id = newId()
    const dyno = new Dyno(
      {
        id,
        appId: app.id,
        appName: app.name,
        spaceId: app.spaceId!,
        type,
        number,
        releaseId: release.id,
        releaseVersion: release.version,
        command,
        size,
        memoryMb: findDynoSize(size)?.memoryMb ?? 512,
        uid: this.options.uidFor(app.id),
        slugDir,
        configVars: release.config,
        createdAt: nowIso(),
      },
      this.context(id),
    )
    this.dynos.set(id, dyno)
    return dyno
  }

  private async remove(dyno: Dyno): Promise<void> {
    try {
      await dyno.stop()
    } finally {
      this.dynos.delete(dyno.identity.id)
      this.events.emit('dynos.changed', dyno.identity.appId)
    }
  }

  /** `ps:restart` and `ps:stop`; a stopped formation dyno is started again by the converge. */
  private async act(
    appId: string,
    action: 'restart' | 'stop',
    target: { type?: string; name?: string } | undefined,
  ): Promise<void> {
    const hit = [...this.dynos.values()].filter(
      (d) =>
        d.identity.appId === appId &&
        !d.stopping &&
        (target?.type === undefined || d.identity.type === target.type) &&
        (target?.name === undefined || d.name === target.name || d.identity.id === target.name),
    )
    // One-offs never restart: a stop or a restart aimed at one (or its type) stops it; a
    // restart of all dynos leaves them be.
    const oneOffs =
      action === 'restart' && target === undefined
        ? []
        : [...this.oneOffs.values()].filter(
            (d) =>
              d.identity.appId === appId &&
              (target?.type === undefined || d.identity.type === target.type) &&
              (target?.name === undefined ||
                d.name === target.name ||
                d.identity.id === target.name),
          )
    for (const d of oneOffs) void d.stop()
    if (action === 'restart') await Promise.all(hit.map((d) => d.restart()))
    else await Promise.all(hit.map((d) => this.remove(d)))
    await this.reconcile(appId)
  }
}

/**
 * `heroku run worker` runs the worker's Procfile command: a first word that names a process
 * type is replaced by its command, as Heroku does.
 */
export function procfileCommand(command: string, processTypes: Record<string, string>): string {
  const m = /^\s*([-\w]+)(\s.*)?$/s.exec(command)
  const first = m?.[1]
  if (first === undefined || !Object.hasOwn(processTypes, first)) return command
  return `${processTypes[first]}${m?.[2] ?? ''}`
}

const numberOf = (name: string) => Number(name.slice(name.lastIndexOf('.') + 1))
