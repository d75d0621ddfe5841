/**
 * SNI endpoints: an app's own TLS certificates (`heroku certs`). A chain and key are stored only
 * once checked (core/certificates.ts); a replacement must still cover the domains that chose
 * the endpoint. After the commit `domains.changed` tells the router. Custom domains themselves
 * are written by domains.ts.
 */
import { randomInt } from 'node:crypto'
import { certificateCovers, checkCertificate, describeChain } from '../core/certificates.js'
import { MAX_SNI_ENDPOINTS_PER_APP, type SniEndpoint } from '../core/domains.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { App } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { PlatformContext } from './context.js'

/** A certificate chain (PEM) and its private key (PEM, unencrypted). */
export interface Certificate {
  chain: string
  privateKey: string
}

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

/** 422 with what is wrong: unparseable, encrypted or mismatched key, expired, … */
function check(cert: Certificate): void {
  const facts = checkCertificate(cert.chain, cert.privateKey)
  if (typeof facts === 'string') throw errors.invalidParams(facts)
}

export function addSniEndpoint(
  { store, events }: PlatformContext,
  app: App,
  cert: Certificate,
): SniEndpoint {
  check(cert)
  const now = nowIso()
  const endpoint = store.transaction(() => {
    if (store.domains.endpoints(app.id).length >= MAX_SNI_ENDPOINTS_PER_APP) {
      throw errors.invalidParams(
        `An app may have at most ${MAX_SNI_ENDPOINTS_PER_APP} SNI endpoints.`,
      )
    }
    const e: SniEndpoint = {
      id: newId(),
      appId: app.id,
      name: endpointName(store),
      certificateChain: cert.chain,
      privateKey: cert.privateKey,
      createdAt: now,
      updatedAt: now,
    }
    store.domains.insertEndpoint(e)
    return e
  })
  events.emit('domains.changed', app.id)
  return endpoint
}

/** `certs:update`: a new chain and key for the endpoint, still covering its domains. */
export function replaceSniCertificate(
  { store, events }: PlatformContext,
  app: App,
  endpoint: SniEndpoint,
  cert: Certificate,
): SniEndpoint {
  check(cert)
  const names = describeChain(cert.chain).domains
  const lost = store.domains
    .forApp(app.id)
    .filter((d) => d.sniEndpointId === endpoint.id && !certificateCovers(names, d.hostname))
  if (lost.length > 0) {
    throw errors.invalidParams(
      `The new certificate does not cover ${lost.map((d) => d.hostname).join(', ')}, which use SNI endpoint ${endpoint.name}.`,
    )
  }
  const now = nowIso()
  store.domains.replaceCertificate(endpoint.id, cert.chain, cert.privateKey, now)
  events.emit('domains.changed', app.id)
  return { ...endpoint, certificateChain: cert.chain, privateKey: cert.privateKey, updatedAt: now }
}

export function removeSniEndpoint(
  { store, events }: PlatformContext,
  app: App,
  endpoint: SniEndpoint,
): void {
  store.domains.deleteEndpoint(endpoint.id)
  events.emit('domains.changed', app.id)
}
