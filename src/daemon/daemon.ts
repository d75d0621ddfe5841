/**
 * `localspace daemon`: opens the store, makes the admin account on first start, serves the
 * API and runs the space lifecycle. Everything it owns is closed on SIGTERM.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LinuxSpaceHost } from '../agent/linux-space-host.js'
import { NetworkAgent } from '../agent/network-agent.js'
import { DEFAULT_DYNO_PORT, RuntimeAgent } from '../agent/runtime-agent.js'
import { fileURLToPath } from 'node:url'
import { VpnAgent } from '../agent/vpn-agent.js'
import { buildServer } from '../api/server.js'
import { GitPushes } from '../builds/git-push.js'
import { createBuilds, removeLeftovers } from '../builds/index.js'
import { createAccount, issueApiKey } from '../platform/accounts.js'
import { AddressPolicy } from '../core/address-policy.js'
import { BUILD_NETWORK_CIDR } from '../core/address-plan.js'
import { EventBus } from '../core/events.js'
import { nowIso } from '../core/ids.js'
import { generatePassword } from '../core/passwords.js'
import type { RuntimeView } from '../core/runtime-view.js'
import { slugDir } from '../core/builds.js'
import { DnsService, MemoryDnsRecords } from '../dns/index.js'
import { startExecRunner } from '../exec/runner.js'
import { defaultHost, DynoProcess, SandboxBuildExecutor } from '../runtime/index.js'
import { DrainDispatcher } from '../logs/drains.js'
import { LogStore } from '../logs/store.js'
import { Store } from '../store/store.js'
import { Router, RouterWorkers, type RouterService } from '../router/index.js'
import { VpnHost } from '../vpn/vpn-host.js'
import { closeDataNetwork } from './build-isolation.js'
import { DataFeed } from './data-feed.js'
import { TransferRunner } from './data-transfers.js'
import { BackupStore } from '../data/backup-store.js'
import { DnsFeed } from './dns-feed.js'
import { DomainVerifier } from './domain-verifier.js'
import { RouterFeed } from './router-feed.js'
import { hostCidrs, ownAddresses, primaryAddress, thisHost } from './host-facts.js'
import { urlFor, type DaemonOptions } from './options.js'
import { lockHost } from './host-lock.js'
import { systemChecks } from './system-checks.js'

export const ADMIN_KEY_FILE = 'admin-api-key'
export const ADMIN_PASSWORD_FILE = 'admin-password'
/** How often the network agent looks for drift when nothing changed. */
export const RECONCILE_INTERVAL_MS = 10_000
/** How often the VPN agent passes when nothing changed (VpnHost repairs charons on its own). */
export const VPN_RECONCILE_INTERVAL_MS = 30_000

export interface RunningDaemon {
  apiUrl: string
  adminKey: string
  close(): Promise<void>
}

function writeSecret(file: string, value: string): void {
  writeFileSync(file, `${value}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
}

/**
 * First start: the installation admin, its API key and password, each in a 0600 file.
 * `created` says whether the key is new (and so may be printed once).
 */
function ensureAdmin(
  store: Store,
  dataDir: string,
  email: string,
): { token: string; created: boolean } {
  const keyFile = join(dataDir, ADMIN_KEY_FILE)
  if (store.accounts.count() > 0 && existsSync(keyFile)) {
    return { token: readFileSync(keyFile, 'utf8').trim(), created: false }
  }
  const password = generatePassword()
  const token = store.transaction(() => {
    const admin =
      store.accounts.find(email) ?? createAccount(store, { email, password, isAdmin: true })
    return issueApiKey(store, admin, 'localspace admin key', null).token
  })
  writeSecret(join(dataDir, ADMIN_PASSWORD_FILE), password)
  writeSecret(keyFile, token)
  return { token, created: true }
}

export async function startDaemon(
  options: DaemonOptions,
  log = console.log,
): Promise<RunningDaemon> {
  const lock = await lockHost()
  // Searchable by the apps' uids on the way to their dynos' sandboxes (dynos/); everything
  // secret in it is 0600 or in a 0700 directory, the database included.
  mkdirSync(options.dataDir, { recursive: true, mode: 0o711 })
  chmodSync(options.dataDir, 0o711)
  const store = Store.open(join(options.dataDir, 'localspace.db'))
  for (const file of ['localspace.db', 'localspace.db-wal', 'localspace.db-shm']) {
    if (existsSync(join(options.dataDir, file))) chmodSync(join(options.dataDir, file), 0o600)
  }
  const { token: adminKey, created: adminCreated } = ensureAdmin(
    store,
    options.dataDir,
    options.adminEmail,
  )
  const events = new EventBus()
  // Host commands start in a child process, so the API never waits while the daemon forks.
  const runner = startExecRunner()
  const run = runner.exec
  // Per-app logs (`heroku logs`): recent lines in memory, journalled under <dataDir>/logs.
  const logs = new LogStore({
    dir: join(options.dataDir, 'logs'),
    onError: (e) => log(`logs: ${e instanceof Error ? e.message : String(e)}`),
  })
  const startedAt = nowIso()
  const runtime: RuntimeView = {
    dynos: (appId) => dynos.dynosOf(appId),
    natSources: () => {
      const address = primaryAddress(options.egressInterface)
      return address ? [address] : []
    },
    hosts: () => [thisHost(startedAt)],
    reservedCidrs: hostCidrs,
    doctor: async () => [...(await systemChecks(run)), ...(await agent.doctor())],
    runOneOff: (appId, spec) => dynos.runOneOff(appId, spec),
    rendezvous: (token) => dynos.rendezvous(token),
  }
  // Converges host networking once the API is listening (a daemon that cannot start changes
  // nothing on the host), repairing whatever a crash left; then on every change and every
  // RECONCILE_INTERVAL_MS.
  const agent = new NetworkAgent(
    store,
    events,
    new LinuxSpaceHost(run, { openShell: runner.openShell }),
    {
      settings: {
        ...(options.egressInterface !== undefined && { egressInterface: options.egressInterface }),
        egressPoolCidrs: options.egressPools.map((p) => p.text),
        allowPrivate: options.allowPrivate,
        routerListeners: options.routerListen.map((l) => ({ address: l.host, port: l.port })),
        buildNetworkCidr: BUILD_NETWORK_CIDR,
        vpnPoolCidrs: options.vpnPools.map((p) => p.text),
      },
      intervalMs: RECONCILE_INTERVAL_MS,
      egress: { pools: options.egressPools, perSpace: options.egressPerSpace },
      log,
    },
  )
  // Site-to-site: gateways and routes through the network agent, one charon per space with a
  // VPN connection (charons outlive the daemon, like dynos; the next one adopts them).
  const vpnHost: VpnHost = new VpnHost({
    dataDir: options.dataDir,
    exec: run,
    onTunnelStatus: (status) => vpn.recordTunnel(status),
    onError: (e) => vpn.charonFailed(e),
  })
  const vpn = new VpnAgent(store, events, agent, vpnHost, {
    intervalMs: VPN_RECONCILE_INTERVAL_MS,
    log,
  })
  // Formation becomes sandboxed dynos in their space networks; they outlive the daemon.
  const sandbox = await defaultHost({ hide: [options.dataDir] })
  const dynos = new RuntimeAgent(store, events, {
    dir: join(options.dataDir, 'dynos'),
    logs,
    network: agent,
    startProcess: (spec) => DynoProcess.start(spec, sandbox),
    adoptProcess: (runDir) => DynoProcess.adopt(runDir),
    slugFor: (appId, slugId) => {
      const slug = store.builds.findSlug(appId, slugId)
      return slug && { dir: slugDir(options.dataDir, slugId), processTypes: slug.processTypes }
    },
    uidFor: (appId) => store.apps.uidOf(appId),
    log,
  })
  // Service discovery: one DNS server answering on every space's gateway address.
  const dnsRecords = new MemoryDnsRecords()
  const dns = await DnsService.start({
    records: dnsRecords,
    onError: (e) => log(`dns: ${e.message}`),
  })
  const dnsFeed = new DnsFeed({
    store,
    events,
    records: dnsRecords,
    dns,
    dynos: () => dynos.allDynos(),
    port: DEFAULT_DYNO_PORT,
    domain: options.domain,
    buildNetworkCidr: BUILD_NETWORK_CIDR,
    log,
  })
  // The only way in from outside: public listeners (--router-listen) and each space's internal
  // listener, admitting trusted IP ranges, routing to web dynos that are up.
  const routerOptions = {
    domain: options.domain,
    listen: options.routerListen,
    ...(options.tlsCert !== undefined &&
      options.tlsKey !== undefined && {
        tls: { cert: readFileSync(options.tlsCert), key: readFileSync(options.tlsKey) },
      }),
    log: (appId: string, text: string) =>
      logs.append(appId, { source: 'heroku', dyno: 'router', text }),
    warn: log,
  }
  // In worker processes sharing the listeners (one per core), or in this process.
  const router: RouterService =
    options.routerWorkers > 0
      ? new RouterWorkers({ ...routerOptions, workers: options.routerWorkers })
      : new Router(routerOptions)
  const routerFeed = new RouterFeed({
    store,
    events,
    router,
    dynos: () => dynos.allDynos(),
    port: DEFAULT_DYNO_PORT,
  })
  // Data add-ons: a Postgres or Redis server per add-on in its space's data network, in the
  // namespace the network agent made for its address; they outlive the daemon.
  const dataFeed = new DataFeed({
    store,
    events,
    exec: run,
    network: agent,
    dir: join(options.dataDir, 'data'),
    log,
  })
  // pg:backups: dumps in a blob store under the data dir, served by signed links; the runner
  // captures and restores through the add-ons' running servers.
  const backupFiles = await BackupStore.open({
    dir: join(options.dataDir, 'backups'),
    apiUrl: () => api.ctx.apiUrl,
  })
  const transfers = new TransferRunner({
    ctx: { store, events },
    files: backupFiles,
    serverFor: (addonId) => dataFeed.agent.server(addonId),
    onError: (message) => log(`backups: ${message}`),
  })
  // Custom domains wait for the TXT record that proves the team controls them (the API
  // marks them verified at once with --domain-verification off, and nothing looks).
  const domainVerifier = options.domainVerification
    ? new DomainVerifier({ store, events, log })
    : undefined
  // Deploys from source: uploads, builds and slugs under the data dir (src/builds).
  // Builds run sandboxed like dynos, as the app's uid, in the app's space network, or on the
  // common build network (internet only) for apps outside a space.
  const executor = new SandboxBuildExecutor({
    host: sandbox,
    uidFor: (appId) => store.apps.uidOf(appId),
    network: {
      attach: async (spaceId, owner) => {
        if (spaceId === null) return agent.attachBuild(owner)
        const attachment = await agent.attach(spaceId, 'dyno', owner)
        // In the space's network, but out of its data network's reach (build-isolation.ts).
        await closeDataNetwork(run, store, spaceId, attachment.id).catch(async (e: unknown) => {
          await agent.detach(attachment.id)
          throw e
        })
        return attachment
      },
      detach: (id) => agent.detach(id),
      ownedBy: (owner) => agent.ownedBy(owner),
    },
  })
  // What the daemon fetches or sends for a user (source URLs, log drains) goes to public
  // addresses only, never to this host or a private network, save the operator's
  // --allow-private ranges (core/address-policy.ts).
  const addressPolicy = new AddressPolicy({ allowed: options.allowPrivate, ownAddresses })
  const builds = createBuilds({
    store,
    events,
    dataDir: options.dataDir,
    executor,
    addressPolicy,
    logs,
    log,
  })
  await builds.builder.start()
  // `git push` to <apiUrl>/<app>.git: bare repositories under <dataDir>/repos, built by the builder.
  const git = new GitPushes({
    store,
    events,
    dataDir: options.dataDir,
    sources: builds.sources,
    output: builds.output,
    log,
  })
  // What a deleted app leaves on disk (repository, slugs, build output, log) goes with it; and
  // at every start, for apps deleted while no daemon ran.
  const removeAppLeftovers = () =>
    removeLeftovers(store, options.dataDir, builds.builder.creatingSlugs).catch((e: unknown) =>
      log(`removing what deleted apps left: ${e instanceof Error ? e.message : String(e)}`),
    )
  const stopRemovingLeftovers = events.on('app.changed', (appId) => {
    if (store.apps.find(appId)) return
    logs.forget(appId)
    void removeAppLeftovers()
  })
  logs.forgetAllBut((appId) => store.apps.find(appId) !== undefined)
  await removeAppLeftovers()
  const apiUrl = urlFor(options.apiListen)
  const publicListener = options.routerListen[0]
  const api = buildServer({
    addressPolicy,
    store,
    events,
    runtime,
    logs,
    domain: options.domain,
    apiUrl,
    routerUrl: publicListener
      ? urlFor(publicListener, options.domain)
      : `http://${options.domain}/`,
    egressPools: options.egressPools,
    egressPerSpace: options.egressPerSpace,
    sources: builds.sources,
    buildOutput: builds.output,
    git,
    domainVerification: options.domainVerification,
    vpnPools: options.vpnPools,
    vpnMaxPerSpace: options.vpnMaxPerSpace,
    // `npm run build` puts the dashboard beside the compiled daemon: dist/web.
    dashboardDir: fileURLToPath(new URL('../web/', import.meta.url)),
    dataProbe: dataFeed,
    backupFiles,
  })
  try {
    await api.listen({ host: options.apiListen.host, port: options.apiListen.port })
    await router.start()
  } catch (e) {
    // Nothing on the host was changed yet: undo what this process opened, and say why.
    await api.close()
    await router.close().catch(() => undefined)
    await dns.close()
    await builds.builder.stop()
    store.close()
    await runner.close()
    await lock.release()
    throw e
  }
  await agent.start()
  await dynos.start() // adopts the dynos a previous daemon left running
  await vpn.start() // after the network agent: charon runs in the gateway it makes
  await dnsFeed.start()
  routerFeed.start()
  await dataFeed.start() // adopts the servers a previous daemon left running
  await transfers.start() // ends what a killed daemon left half done, then runs what is open
  domainVerifier?.start()
  // Log drains (`heroku drains:add`, the space log drain): batched, retried delivery.
  const drains = new DrainDispatcher({ logs, events, source: store.drains, addressPolicy, log })
  drains.start()
  if (agent.lastError) {
    log(`host networking is not converged yet; retrying every ${RECONCILE_INTERVAL_MS / 1000} s`)
  }
  const address = api.server.address()
  const port = typeof address === 'object' && address ? address.port : options.apiListen.port
  const boundUrl = urlFor({ ...options.apiListen, port })
  api.ctx.apiUrl = boundUrl // the port is known only now when it was 0
  log(`localspace API listening on ${boundUrl} (data in ${options.dataDir})`)
  log(`dashboard: ${boundUrl}/ (sign in with your email and password or an API key)`)
  log(`export HEROKU_HOST=${boundUrl}`)
  // `pg:*` and `redis:*` call Heroku's data API at HEROKU_DATA_HOST, keeping HEROKU_HOST's
  // scheme and port: its host name alone points them at this listener (data-api.routes.ts).
  log(`export HEROKU_DATA_HOST=${new URL(boundUrl).hostname}`)
  // The key itself only on first start: a daemon's output lands in the journal, restart after
  // restart. Later starts print the same line reading it from its 0600 file.
  const keyFile = join(options.dataDir, ADMIN_KEY_FILE)
  log(`export HEROKU_API_KEY=${adminCreated ? adminKey : `$(cat ${keyFile})`}`)

  return {
    apiUrl: boundUrl,
    adminKey,
    async close() {
      stopRemovingLeftovers()
      await domainVerifier?.stop()
      await routerFeed.stop()
      await router.close()
      await dnsFeed.stop()
      await dns.close()
      await dynos.stop() // the dynos keep running; the next daemon adopts them
      await vpn.stop()
      await vpnHost.release() // charons keep running (tunnels stay up); the next daemon adopts them
      await transfers.stop()
      await dataFeed.stop() // so do the data servers
      await agent.stop()
      await builds.builder.stop()
      await api.close()
      await runner.close()
      await drains.stop()
      logs.close()
      store.close()
      await lock.release()
    },
  }
}
