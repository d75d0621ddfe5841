/**
 * SNI endpoints: an app's own TLS certificates (`heroku certs`, `certs:add CRT KEY`,
 * `certs:info`, `certs:update`, `certs:remove`; schema `sni-endpoint`):
 * /apps/{app}/sni-endpoints[/{id|name}]. The chain and key are checked (parseable PEM, the key
 * unencrypted and matching, not expired, usable by OpenSSL) before src/platform/certificates.ts
 * stores them; the key stays in the store and is never sent back. The router serves a
 * certificate, chosen by SNI, for the app's domains that chose it and for those of its hostnames
 * it covers (core/domains.ts `certificatePlan`); `domains.changed` tells it.
 */
import type { FastifyInstance } from 'fastify'
import { certificateCovers, describeChain } from '../../core/certificates.js'
import type { SniEndpoint } from '../../core/domains.js'
import { errors } from '../../core/errors.js'
import { stableId } from '../../core/ids.js'
import type { App } from '../../core/types.js'
import {
  addSniEndpoint,
  removeSniEndpoint,
  replaceSniCertificate,
} from '../../platform/certificates.js'
import type { Store } from '../../store/store.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'

export function sniEndpointJson(store: Store, e: SniEndpoint, app: App) {
  const facts = describeChain(e.certificateChain)
  return {
    id: e.id,
    name: e.name,
    display_name: null,
    certificate_chain: e.certificateChain,
    app: { id: app.id, name: app.name },
    // The domains that chose it (`domains:update --cert`), by id, as Heroku lists them.
    domains: store.domains
      .forApp(app.id)
      .filter((d) => d.sniEndpointId === e.id)
      .map((d) => d.id),
    ssl_cert: {
      id: stableId('ssl-cert', facts.fingerprint),
      'ca_signed?': facts.caSigned,
      'self_signed?': facts.selfSigned,
      cert_domains: facts.domains,
      subject: facts.subject,
      issuer: facts.issuer,
      starts_at: facts.startsAt,
      expires_at: facts.expiresAt,
    },
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  }
}

/** An SNI endpoint of the app by id or name; 404 otherwise. */
export function findSniEndpoint(store: Store, app: App, idOrName: string): SniEndpoint {
  const e = store.domains.findEndpoint(app.id, idOrName)
  if (!e) throw errors.notFound('sni-endpoint', "Couldn't find that SNI endpoint.")
  return e
}

export const endpointCovers = (e: SniEndpoint, hostname: string): boolean =>
  certificateCovers(describeChain(e.certificateChain).domains, hostname)

interface CertificateBody {
  certificate_chain: string
  private_key: string
}

const certificateBody = {
  type: 'object',
  required: ['certificate_chain', 'private_key'],
  properties: { certificate_chain: { type: 'string' }, private_key: { type: 'string' } },
}

const certificateOf = (body: CertificateBody) => ({
  chain: body.certificate_chain,
  privateKey: body.private_key,
})

export function sniEndpointRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  app.get<{ Params: { app: string } }>('/apps/:app/sni-endpoints', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const all = store.domains.endpoints(target.id).map((e) => sniEndpointJson(store, e, target))
    return sendList(request, reply, all, ['id', 'name'])
  })

  app.post<{ Params: { app: string }; Body: CertificateBody }>(
    '/apps/:app/sni-endpoints',
    { schema: { body: certificateBody } },
    async (request, reply) => {
      const target = findApp(store, request.account, request.params.app)
      const endpoint = addSniEndpoint(app.ctx, target, certificateOf(request.body))
      return reply.code(201).send(sniEndpointJson(store, endpoint, target))
    },
  )

  app.get<{ Params: { app: string; endpoint: string } }>(
    '/apps/:app/sni-endpoints/:endpoint',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      return sniEndpointJson(store, findSniEndpoint(store, target, request.params.endpoint), target)
    },
  )

  app.patch<{ Params: { app: string; endpoint: string }; Body: CertificateBody }>(
    '/apps/:app/sni-endpoints/:endpoint',
    { schema: { body: certificateBody } },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const e = findSniEndpoint(store, target, request.params.endpoint)
      const updated = replaceSniCertificate(app.ctx, target, e, certificateOf(request.body))
      return sniEndpointJson(store, updated, target)
    },
  )

  app.delete<{ Params: { app: string; endpoint: string } }>(
    '/apps/:app/sni-endpoints/:endpoint',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const e = findSniEndpoint(store, target, request.params.endpoint)
      const shown = sniEndpointJson(store, e, target)
      removeSniEndpoint(app.ctx, target, e)
      return shown
    },
  )
}
