/**
 * Custom domains (`heroku domains`, `domains:add`, `domains:info`, `domains:update --cert`,
 * `domains:remove`; schema `domain`): /apps/{app}/domains[/{id|hostname}]. The list starts
 * with the app's default domain, `<app>.<domain>` (kind `heroku`), which cannot be removed.
 * The router serves an app at every domain it has, told by `domains.changed`.
 *
 * What Heroku's fields mean here (a self-hosted router, nothing to provision):
 * - `cname`: the DNS target to point the domain at, the app's default hostname `<app>.<domain>`
 *   (the operator's wildcard record for the domain leads to the router);
 * - `status`: `pending` until the team proves it controls the name, then `succeeded`, when the
 *   router starts serving it; `failed` while another app holds it (see below); the default
 *   domain's is `none`, as on Heroku. `heroku domains:wait` waits while it is `pending`.
 * - `verification_txt_name`, `verification_txt_value` (ours; Heroku clients ignore fields they
 *   do not know, `heroku domains:info` prints them): the proof, a TXT record
 *   `_localspace-challenge.<hostname>` (for `*.x.example`: `_localspace-challenge.x.example`)
 *   holding the domain's random token. The daemon's verifier (src/daemon/domain-verifier.ts)
 *   looks it up, and marks the domain verified. With `--domain-verification off` (a closed
 *   network whose DNS the operator controls) domains are verified as soon as added.
 * - `acm_status`, `acm_status_reason`: null, there is no automated certificate management;
 *   certificates come from `heroku certs:add`.
 *
 * Claims: any number of apps may claim a hostname while it is unverified (so nobody can squat
 * a name they do not control); the first to verify holds it, and later claims are refused
 * (`is currently in use by another app`, Heroku's words). A verified wildcard `*.x.example`
 * also keeps other teams from `foo.x.example`: its holder proved control of x.example's zone
 * and serves every name one label under it, which an exact name would take over. Apps of the
 * same team may split names under their wildcard.
 */
import type { FastifyInstance } from 'fastify'
import {
  challengeName,
  parseHostname,
  type AppDomain,
  type SniEndpoint,
} from '../../core/domains.js'
import { errors } from '../../core/errors.js'
import { stableId } from '../../core/ids.js'
import type { App } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { addDomain, removeDomain, setDomainEndpoint } from '../../platform/domains.js'
import { endpointCovers, findSniEndpoint } from './sni-endpoints.routes.js'

const ref = (e: SniEndpoint | undefined) => (e ? { id: e.id, name: e.name } : null)

/** `succeeded` once verified; `failed` while another app holds the name; else `pending`. */
function domainStatus(store: Store, d: AppDomain): 'succeeded' | 'failed' | 'pending' {
  if (d.verifiedAt !== null) return 'succeeded'
  return store.domains.blocker(d.appId, d.hostname) ? 'failed' : 'pending'
}

export function customDomainJson(
  store: Store,
  d: AppDomain,
  app: App,
  domain: string,
  endpoint?: SniEndpoint,
) {
  return {
    id: d.id,
    hostname: d.hostname,
    kind: 'custom' as const,
    cname: `${app.name}.${domain}`,
    status: domainStatus(store, d),
    verification_txt_name: challengeName(d.hostname),
    verification_txt_value: d.verificationToken,
    acm_status: null,
    acm_status_reason: null,
    app: { id: app.id, name: app.name },
    sni_endpoint: ref(endpoint),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
  }
}

/** `<app>.<domain>`: every app has it; its id is stable, derived from the app's. */
export function defaultDomainJson(app: App, domain: string) {
  return {
    id: stableId('domain', app.id),
    hostname: `${app.name}.${domain}`,
    kind: 'heroku' as const,
    cname: null,
    status: 'none',
    acm_status: null,
    acm_status_reason: null,
    app: { id: app.id, name: app.name },
    sni_endpoint: null,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
  }
}

const endpointOf = (store: Store, d: AppDomain) =>
  d.sniEndpointId === null ? undefined : store.domains.findEndpoint(d.appId, d.sniEndpointId)

/** The SNI endpoint a request names (`sni_endpoint`: id or name, or null for none). */
function chosenEndpoint(
  store: Store,
  app: App,
  hostname: string,
  given: string | null | undefined,
): SniEndpoint | undefined {
  if (given === null || given === undefined) return undefined
  const endpoint = findSniEndpoint(store, app, given)
  if (!endpointCovers(endpoint, hostname)) {
    throw errors.invalidParams(
      `The certificate of SNI endpoint ${endpoint.name} does not cover ${hostname}.`,
    )
  }
  return endpoint
}

interface DomainParams {
  app: string
  domain: string
}

const endpointField = { type: ['string', 'null'] }

export function domainRoutes(app: FastifyInstance): void {
  const { store } = app.ctx
  const domain = () => app.ctx.domain

  app.get<{ Params: { app: string } }>('/apps/:app/domains', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const all = [
      defaultDomainJson(target, domain()),
      ...store.domains
        .forApp(target.id)
        .map((d) => customDomainJson(store, d, target, domain(), endpointOf(store, d))),
    ]
    return sendList(request, reply, all, ['id', 'hostname'])
  })

  app.post<{
    Params: { app: string }
    Body: { hostname: string; sni_endpoint?: string | null }
  }>(
    '/apps/:app/domains',
    {
      schema: {
        body: {
          type: 'object',
          required: ['hostname'],
          properties: { hostname: { type: 'string' }, sni_endpoint: endpointField },
        },
      },
    },
    async (request, reply) => {
      const target = findApp(store, request.account, request.params.app)
      const parsed = parseHostname(request.body.hostname)
      if ('error' in parsed) throw errors.invalidParams(parsed.error)
      const { hostname } = parsed
      const endpoint = chosenEndpoint(store, target, hostname, request.body.sni_endpoint)
      const record = addDomain(app.ctx, target, {
        hostname,
        endpoint,
        routerDomain: domain(),
        verifiedAtOnce: !app.ctx.domainVerification,
      })
      return reply.code(201).send(customDomainJson(store, record, target, domain(), endpoint))
    },
  )

  /** Is `idOrHostname` the app's default domain (its stable id or `<app>.<domain>`)? */
  const isDefault = (target: App, idOrHostname: string) => {
    const d = defaultDomainJson(target, domain())
    return idOrHostname === d.id || idOrHostname.toLowerCase().replace(/\.$/, '') === d.hostname
  }
  /** A custom domain of the app, by id or hostname; `change` names what the default refuses. */
  const findCustom = (target: App, idOrHostname: string, change: string): AppDomain => {
    const found = store.domains.find(target.id, idOrHostname)
    if (found) return found
    if (isDefault(target, idOrHostname)) {
      throw errors.invalidParams(
        `${target.name}.${domain()} is the app's default domain; it cannot be ${change}.`,
      )
    }
    throw errors.notFound('domain')
  }

  app.get<{ Params: DomainParams }>('/apps/:app/domains/:domain', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    const d = store.domains.find(target.id, request.params.domain)
    if (d) return customDomainJson(store, d, target, domain(), endpointOf(store, d))
    if (isDefault(target, request.params.domain)) return defaultDomainJson(target, domain())
    throw errors.notFound('domain')
  })

  app.patch<{ Params: DomainParams; Body: { sni_endpoint: string | null } }>(
    '/apps/:app/domains/:domain',
    {
      schema: {
        body: {
          type: 'object',
          required: ['sni_endpoint'],
          properties: { sni_endpoint: endpointField },
        },
      },
    },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      // It is served with the router's own certificate (--tls-cert), or one that covers it.
      const d = findCustom(target, request.params.domain, 'given an SNI endpoint')
      const endpoint = chosenEndpoint(store, target, d.hostname, request.body.sni_endpoint)
      const updated = setDomainEndpoint(app.ctx, d, endpoint)
      return customDomainJson(store, updated, target, domain(), endpoint)
    },
  )

  app.delete<{ Params: DomainParams }>('/apps/:app/domains/:domain', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    const d = findCustom(target, request.params.domain, 'removed')
    const shown = customDomainJson(store, d, target, domain(), endpointOf(store, d))
    removeDomain(app.ctx, d)
    return shown
  })
}
