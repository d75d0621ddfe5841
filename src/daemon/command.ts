/**
 * The `localspace daemon` command: flags in, a running daemon until SIGTERM or SIGINT.
 * The daemon itself (Fastify, SQLite) loads only when the command runs, so ordinary CLI
 * commands start fast.
 */
import type { Command } from 'commander'
import { DEFAULT_EGRESS_PER_SPACE, parseEgressPerSpace, parseEgressPool } from '../core/egress.js'
import {
  checkDataDir,
  checkDomain,
  checkInterfaceName,
  checkPrivateRange,
  checkPoolsApart,
  checkTls,
  DAEMON_DEFAULTS,
  parseDomainVerification,
  parseListen,
  parseRouterListen,
  parseRouterWorkers,
} from './options.js'
import { installCrashHandlers } from './crash-handlers.js'
import { DEFAULT_VPN_MAX_PER_SPACE, parseVpnMaxPerSpace, parseVpnPool } from '../core/vpn.js'

interface DaemonFlags {
  dataDir: string
  apiListen: string
  routerListen: string[]
  domain: string
  adminEmail: string
  egressPool?: string[]
  egressInterface?: string
  egressPerSpace: string
  allowPrivate?: string[]
  tlsCert?: string
  tlsKey?: string
  routerWorkers: string
  domainVerification: string
  vpnPool?: string[]
  vpnMaxPerSpace: string
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value]

export function addDaemonCommand(program: Command): void {
  program
    .command('daemon')
    .description('run the localspace daemon (API, networks, dynos); needs root')
    .option('--data-dir <dir>', 'where state lives', DAEMON_DEFAULTS.dataDir)
    .option('--api-listen <host:port>', 'Platform API address', DAEMON_DEFAULTS.apiListen)
    .option(
      '--router-listen <[https://]host:port>',
      `public router address, repeatable (default ${DAEMON_DEFAULTS.routerListen})`,
      collect,
    )
    .option('--domain <domain>', 'apps are served at <app>.<domain>', DAEMON_DEFAULTS.domain)
    .option(
      '--admin-email <email>',
      'email of the admin made on first start',
      DAEMON_DEFAULTS.adminEmail,
    )
    .option(
      '--egress-pool <pool>',
      'outbound addresses for spaces, [REGION=]CIDR; repeatable (default: the host address)',
      collect,
    )
    .option(
      '--egress-per-space <n>',
      'outbound addresses each space takes from its pool',
      String(DEFAULT_EGRESS_PER_SPACE),
    )
    .option('--egress-interface <iface>', 'the interface dyno traffic to the internet leaves by')
    .option(
      '--allow-private <cidr>',
      'a private range outside localspace that dynos may reach; repeatable',
      collect,
    )
    .option('--tls-cert <file>', 'PEM certificate (wildcard for the domain) for https:// listeners')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option(
      '--router-workers <n>',
      'router worker processes, e.g. one per core (0: the router runs in the daemon)',
      String(DAEMON_DEFAULTS.routerWorkers),
    )
    .option(
      '--domain-verification <on|off>',
      'serve custom domains only once a TXT record proves ownership (off: at once)',
      DAEMON_DEFAULTS.domainVerification,
    )
    .option(
      '--vpn-pool <pool>',
      'public addresses for VPN tunnels (two per connection), [REGION=]CIDR; repeatable',
      collect,
    )
    .option(
      '--vpn-max-per-space <n>',
      'VPN connections a space may have',
      String(DEFAULT_VPN_MAX_PER_SPACE),
    )
    .action(async (flags: DaemonFlags) => {
      installCrashHandlers()
      const routerListen = (flags.routerListen ?? [DAEMON_DEFAULTS.routerListen]).map(
        parseRouterListen,
      )
      checkTls(routerListen, flags.tlsCert, flags.tlsKey)
      const egressPools = (flags.egressPool ?? []).map(parseEgressPool)
      const vpnPools = (flags.vpnPool ?? []).map(parseVpnPool)
      checkPoolsApart(egressPools, vpnPools)
      const options = {
        dataDir: checkDataDir(flags.dataDir),
        apiListen: parseListen('--api-listen', flags.apiListen),
        routerListen,
        ...(flags.tlsCert !== undefined && { tlsCert: flags.tlsCert }),
        ...(flags.tlsKey !== undefined && { tlsKey: flags.tlsKey }),
        domain: checkDomain(flags.domain),
        adminEmail: flags.adminEmail,
        egressPools,
        egressPerSpace: parseEgressPerSpace(flags.egressPerSpace),
        ...(flags.egressInterface !== undefined && {
          egressInterface: checkInterfaceName(flags.egressInterface),
        }),
        allowPrivate: (flags.allowPrivate ?? []).map(checkPrivateRange),
        routerWorkers: parseRouterWorkers(flags.routerWorkers),
        domainVerification: parseDomainVerification(flags.domainVerification),
        vpnPools,
        vpnMaxPerSpace: parseVpnMaxPerSpace(flags.vpnMaxPerSpace),
      }
      const { startDaemon } = await import('./daemon.js')
      const daemon = await startDaemon(options)
      let closing = false
      const shutdown = (signal: string) => {
        if (closing) return
        closing = true
        console.log(`${signal} received, shutting down`)
        daemon.close().then(
          () => process.exit(0),
          (e: unknown) => {
            console.error('shutdown failed:', e)
            process.exit(1)
          },
        )
      }
      process.on('SIGTERM', () => shutdown('SIGTERM'))
      process.on('SIGINT', () => shutdown('SIGINT'))
    })
}
