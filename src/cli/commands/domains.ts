/**
 * Custom domains and their certificates, as heroku has them: `domains`, `domains:add`,
 * `domains:info`, `domains:update --cert`, `domains:remove`; `certs`, `certs:add CRT KEY`,
 * `certs:info`, `certs:update CRT KEY`, `certs:remove` (schema `domain`, `sni-endpoint`).
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { p } from '../client.js'
import {
  act,
  confirmDestruction,
  UserError,
  withApp,
  withJson,
  type AppFlags,
  type CliDeps,
} from '../context.js'
import type { KeyValues } from '../output.js'
import type { Domain, SniEndpoint } from '../wire.js'

interface CertFlags extends AppFlags {
  cert?: string
}

interface NameFlags extends AppFlags {
  name?: string
  confirm?: string
}

export function registerDomainsCommands(program: Command, deps: CliDeps): void {
  withJson(withApp(program.command('domains')))
    .description("list an app's domains: its default one and its custom domains")
    .action(
      act(deps, async (flags: AppFlags) => {
        const domains = await deps.client().list<Domain>(p`/apps/${flags.app}/domains`)
        if (flags.json) return deps.out.json(domains)
        deps.out.heading(`${flags.app} Heroku Domain`)
        deps.out.line(domains.find((d) => d.kind === 'heroku')?.hostname ?? '')
        const custom = domains.filter((d) => d.kind === 'custom')
        if (custom.length === 0) return
        deps.out.line()
        deps.out.heading(`${flags.app} Custom Domains`)
        deps.out.table(custom, [
          { header: 'Domain Name', get: (d) => d.hostname },
          {
            header: 'DNS Record Type',
            get: (d) => (isApex(d.hostname) ? 'ALIAS or ANAME' : 'CNAME'),
          },
          { header: 'DNS Target', get: (d) => d.cname },
          { header: 'SNI Endpoint', get: (d) => d.sni_endpoint?.name },
        ])
      }),
    )

  withJson(withApp(program.command('domains:add <hostname>')))
    .description('add a custom domain to an app (a leading *. makes it a wildcard)')
    .option('-c, --cert <name>', 'the SNI endpoint (certificate) to serve it with')
    .action(
      act(deps, async (hostname: string, flags: CertFlags) => {
        const domain = await deps.out.action(`Adding ${hostname} to ${flags.app}`, () =>
          deps.client().post<Domain>(p`/apps/${flags.app}/domains`, {
            hostname,
            sni_endpoint: flags.cert ?? null,
          }),
        )
        if (flags.json) return deps.out.json(domain)
        deps.out.line(
          `Configure your app's DNS provider to point to the DNS Target ${domain.cname ?? ''}.`,
        )
        if (domain.status === 'pending') showProof(deps, domain)
      }),
    )

  withJson(withApp(program.command('domains:info <hostname>')))
    .description('show a domain of an app')
    .action(
      act(deps, async (hostname: string, flags: AppFlags) => {
        const d = await deps.client().get<Domain>(p`/apps/${flags.app}/domains/${hostname}`)
        if (flags.json) return deps.out.json(d)
        deps.out.keyValues([
          ['Hostname', d.hostname],
          ['Kind', d.kind],
          ['DNS Target', d.cname],
          ['Status', d.status],
          ['Verification TXT Name', d.verification_txt_name],
          ['Verification TXT Value', d.verification_txt_value],
          ['SNI Endpoint', d.sni_endpoint?.name],
          ['App', d.app.name],
          ['Created At', d.created_at],
        ])
      }),
    )

  withJson(withApp(program.command('domains:update <hostname>')))
    .description('serve a custom domain with another of the app’s certificates')
    .requiredOption('--cert <name>', 'the SNI endpoint (certificate) to serve it with')
    .action(
      act(deps, async (hostname: string, flags: CertFlags & { cert: string }) => {
        const d = await deps.out.action(
          `Updating ${hostname} to use ${flags.cert} certificate`,
          () =>
            deps.client().patch<Domain>(p`/apps/${flags.app}/domains/${hostname}`, {
              sni_endpoint: flags.cert,
            }),
        )
        if (flags.json) deps.out.json(d)
      }),
    )

  withJson(withApp(program.command('domains:remove <hostname>')))
    .description('remove a custom domain from an app')
    .action(
      act(deps, async (hostname: string, flags: AppFlags) => {
        const d = await deps.out.action(`Removing ${hostname} from ${flags.app}`, () =>
          deps.client().delete<Domain>(p`/apps/${flags.app}/domains/${hostname}`),
        )
        if (flags.json) deps.out.json(d)
      }),
    )

  withJson(withApp(program.command('certs')))
    .description("list an app's SSL certificates (SNI endpoints)")
    .action(
      act(deps, async (flags: AppFlags) => {
        const certs = await deps.client().list<SniEndpoint>(p`/apps/${flags.app}/sni-endpoints`)
        if (flags.json) return deps.out.json(certs)
        if (certs.length === 0) {
          return deps.out.line(
            `${flags.app} has no SSL certificates.\nUse localspace certs:add CRT KEY to add one.`,
          )
        }
        deps.out.table(certs, [
          { header: 'Name', get: (c) => c.name },
          { header: 'Common Name(s)', get: (c) => c.ssl_cert.cert_domains.join(', ') },
          { header: 'Expires', get: (c) => c.ssl_cert.expires_at },
          { header: 'Trusted', get: (c) => (c.ssl_cert['ca_signed?'] ? 'True' : 'False') },
          { header: 'Domains', get: (c) => c.domains.length },
        ])
      }),
    )

  withJson(withApp(program.command('certs:add <crt> <key>')))
    .description('add an SSL certificate (PEM chain and unencrypted key files) to an app')
    .action(
      act(deps, async (crt: string, key: string, flags: AppFlags) => {
        const body = certificateFiles(crt, key)
        const cert = await deps.out.action(`Adding SSL certificate to ${flags.app}`, () =>
          deps.client().post<SniEndpoint>(p`/apps/${flags.app}/sni-endpoints`, body),
        )
        if (flags.json) return deps.out.json(cert)
        showCertificate(deps, cert)
      }),
    )

  withJson(withApp(program.command('certs:info')))
    .description('show an SSL certificate of an app')
    .option('--name <name>', 'which one, when the app has several')
    .action(
      act(deps, async (flags: NameFlags) => {
        const cert = await oneCertificate(deps, flags)
        if (flags.json) return deps.out.json(cert)
        showCertificate(deps, cert)
      }),
    )

  withJson(withApp(program.command('certs:update <crt> <key>')))
    .description('replace the chain and key of an SSL certificate')
    .option('--name <name>', 'which one, when the app has several')
    .action(
      act(deps, async (crt: string, key: string, flags: NameFlags) => {
        const body = certificateFiles(crt, key)
        const current = await oneCertificate(deps, flags)
        const cert = await deps.out.action(
          `Updating SSL certificate ${current.name} for ${flags.app}`,
          () =>
            deps
              .client()
              .patch<SniEndpoint>(p`/apps/${flags.app}/sni-endpoints/${current.name}`, body),
        )
        if (flags.json) return deps.out.json(cert)
        showCertificate(deps, cert)
      }),
    )

  withJson(withApp(program.command('certs:remove')))
    .description('remove an SSL certificate from an app')
    .option('--name <name>', 'which one, when the app has several')
    .option('--confirm <app>', 'the app name, to confirm')
    .action(
      act(deps, async (flags: NameFlags) => {
        const cert = await oneCertificate(deps, flags)
        await confirmDestruction(
          deps,
          `the SSL certificate ${cert.name} of app`,
          [flags.app],
          flags.confirm,
        )
        const removed = await deps.out.action(
          `Removing SSL certificate ${cert.name} from ${flags.app}`,
          () => deps.client().delete<SniEndpoint>(p`/apps/${flags.app}/sni-endpoints/${cert.name}`),
        )
        if (flags.json) deps.out.json(removed)
      }),
    )
}

/** What a pending domain waits for: the TXT record that proves the team controls the name. */
function showProof(deps: CliDeps, d: Domain): void {
  deps.out.line()
  deps.out.line('To prove you control it, publish this TXT record:')
  deps.out.line(`  ${d.verification_txt_name ?? ''}  TXT  "${d.verification_txt_value ?? ''}"`)
  deps.out.line(
    `The domain is served once the record is found (status pending → succeeded): localspace domains:info ${d.hostname} -a ${d.app.name}`,
  )
}

/** An apex domain (example.com) needs ALIAS/ANAME; a subdomain takes a CNAME. */
const isApex = (hostname: string) => !hostname.includes('*') && hostname.split('.').length === 2

function certificateFiles(crt: string, key: string) {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (e) {
      throw new UserError(`Could not read ${file}: ${(e as Error).message}`)
    }
  }
  return { certificate_chain: read(crt), private_key: read(key) }
}

/** The app's certificate named by --name, or its only one. */
async function oneCertificate(deps: CliDeps, flags: NameFlags): Promise<SniEndpoint> {
  if (flags.name)
    return deps.client().get<SniEndpoint>(p`/apps/${flags.app}/sni-endpoints/${flags.name}`)
  const certs = await deps.client().list<SniEndpoint>(p`/apps/${flags.app}/sni-endpoints`)
  if (certs.length === 0) throw new UserError(`${flags.app} has no SSL certificates`)
  if (certs.length > 1) throw new UserError('Must pass --name when more than one endpoint')
  return certs[0]!
}

function showCertificate(deps: CliDeps, cert: SniEndpoint): void {
  const c = cert.ssl_cert
  const pairs: KeyValues = [
    ['Name', cert.name],
    ['Common Name(s)', c.cert_domains],
    ['Expires At', c.expires_at],
    ['Issuer', c.issuer],
    ['Starts At', c.starts_at],
    ['Subject', c.subject],
  ]
  deps.out.keyValues(pairs)
  deps.out.line(
    c['ca_signed?']
      ? 'SSL certificate is verified by a root authority.'
      : c['self_signed?']
        ? 'SSL certificate is self signed.'
        : 'SSL certificate is not trusted.',
  )
}
