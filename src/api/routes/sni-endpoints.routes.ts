/**
 * SNI endpoints: an app's own TLS certificates (`heroku certs`, `certs:add CRT KEY`,
 * `certs:info`, `certs:update`, `certs:remove`; schema `sni-endpoint`):
 * /apps/{app}/sni-endpoints[/{id|name}]. The chain and key are checked (parseable PEM, the key
 * unencrypted and matching, not expired, usable by OpenSSL) before they are stored; the key
 * stays in the store and is never sent back. The router serves a certificate, chosen by SNI,
 * for the app's domains that chose it and for those of its hostnames it covers
 * (core/domains.ts `certificatePlan`); `domains.changed` tells it.
 */
import { randomInt } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { certificateCovers, checkCertificate, describeChain } from '../../core/certificates.js'
import { MAX_SNI_ENDPOINTS_PER_APP, type SniEndpoint } from '../../core/domains.js'
import { errors } from '../../core/errors.js'
import { newId, nowIso, stableId } from '../../core/ids.js'
import type { App } from '../../core/types.js'
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

// Heroku names its SNI endpoints after dinosaurs (`tyrannosaurus-12345`).
const DINOSAURS = [
  'allosaurus',
  'ankylosaurus',
  'brachiosaurus',
  'diplodocus',
  'iguanodon',
  'parasaurolophus',
  'stegosaurus',
  'triceratops',
  'velociraptor',
]

function endpointName(store: Store): string {
  for (;;) {
    const name = `${DINOSAURS[randomInt(DINOSAURS.length)]}-${randomInt(10000, 100000)}`
    if (!store.domains.endpointNameTaken(name)) return name
  }
}

interface CertificateBody {
  certificate_chain: string
  private_key: string
}

const certificateBody = {
  type: 'object',
  required: ['certificate_chain', 'private_key'],
  properties: { certificate_chain: { type: 'string' }, private_key: { type: 'string' } },
}

/** The body's chain and key, checked; 422 with what is wrong. */
function checked(body: CertificateBody): CertificateBody {
  const facts = checkCertificate(body.certificate_chain, body.private_key)
  if (typeof facts === 'string') throw errors.invalidParams(facts)
  return body
}

export function sniEndpointRoutes(app: FastifyInstance): void {
  const { store, events } = app.ctx

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
      const { certificate_chain, private_key } = checked(request.body)
      const now = nowIso()
      const endpoint = store.transaction(() => {
        if (store.domains.endpoints(target.id).length >= MAX_SNI_ENDPOINTS_PER_APP) {
          throw errors.invalidParams(
            `An app may have at most ${MAX_SNI_ENDPOINTS_PER_APP} SNI endpoints.`,
          )
        }
        const e: SniEndpoint = {
          id: newId(),
          appId: target.id,
          name: endpointName(store),
          certificateChain: certificate_chain,
          privateKey: private_key,
          createdAt: now,
          updatedAt: now,
        }
        store.domains.insertEndpoint(e)
        return e
      })
      events.emit('domains.changed', target.id)
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
      const { certificate_chain, private_key } = checked(request.body)
      // Domains that chose this endpoint must still be covered by its new certificate.
      const names = describeChain(certificate_chain).domains
      const lost = store.domains
        .forApp(target.id)
        .filter((d) => d.sniEndpointId === e.id && !certificateCovers(names, d.hostname))
      if (lost.length > 0) {
        throw errors.invalidParams(
          `The new certificate does not cover ${lost.map((d) => d.hostname).join(', ')}, which use SNI endpoint ${e.name}.`,
        )
      }
      const now = nowIso()
      store.domains.replaceCertificate(e.id, certificate_chain, private_key, now)
      events.emit('domains.changed', target.id)
      const updated = { ...e, certificateChain: certificate_chain, privateKey: private_key }
      return sniEndpointJson(store, { ...updated, updatedAt: now }, target)
    },
  )

  app.delete<{ Params: { app: string; endpoint: string } }>(
    '/apps/:app/sni-endpoints/:endpoint',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const e = findSniEndpoint(store, target, request.params.endpoint)
      const shown = sniEndpointJson(store, e, target)
      store.domains.deleteEndpoint(e.id)
      events.emit('domains.changed', target.id)
      return shown
    },
  )
}
