/**
 * TLS certificates that apps bring (Heroku's SNI endpoints, `heroku certs:add CRT KEY`):
 * a PEM chain and its private key, checked before anything is stored so that the router can
 * always use what the store holds. Pure apart from OpenSSL through node:crypto and node:tls.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { createSecureContext, rootCertificates } from 'node:tls'

/** A chain longer than this is not a certificate chain (the API body limit is 1 MiB). */
export const MAX_PEM_LENGTH = 128 * 1024

/** What the API shows of a certificate (`ssl_cert` in the schema). */
export interface CertificateFacts {
  /** DNS names the certificate is for: its subjectAltName DNS entries, else its CN. */
  domains: string[]
  /** OpenSSL's one-line form, as Heroku shows it: `/C=US/O=Acme/CN=www.example.com`. */
  subject: string
  issuer: string
  startsAt: string
  expiresAt: string
  selfSigned: boolean
  /** The chain leads to a root certificate Node trusts. */
  caSigned: boolean
  /** SHA-256 of the leaf (DER): the same certificate has the same id. */
  fingerprint: string
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g

/**
 * Checks a certificate chain and its key: parseable PEM, the key unencrypted and matching the
 * first certificate, not expired, and usable by OpenSSL for a TLS server. Returns the facts
 * shown by the API, or a message saying what is wrong.
 */
export function checkCertificate(chainPem: string, keyPem: string): CertificateFacts | string {
  if (chainPem.length > MAX_PEM_LENGTH || keyPem.length > MAX_PEM_LENGTH) {
    return `A certificate chain or key longer than ${MAX_PEM_LENGTH} characters is not accepted.`
  }
  if ([...chainPem.matchAll(PEM_BLOCK)].some((b) => b[1]!.includes('PRIVATE KEY'))) {
    return 'certificate_chain contains a private key: give the key as private_key only.'
  }
  const pems = certificateBlocks(chainPem)
  if (pems.length === 0) {
    return 'certificate_chain has no PEM certificate (-----BEGIN CERTIFICATE-----).'
  }
  let chain: X509Certificate[]
  try {
    chain = pems.map((p) => new X509Certificate(p))
  } catch (e) {
    return `certificate_chain could not be parsed: ${reason(e)}.`
  }
  let key: KeyObject
  try {
    key = createPrivateKey(keyPem)
  } catch (e) {
    const code = (e as { code?: string }).code
    return code === 'ERR_MISSING_PASSPHRASE'
      ? 'private_key is encrypted: give it without a passphrase (openssl pkey -in KEY -out PLAIN).'
      : `private_key is not a PEM private key: ${reason(e)}.`
  }
  const leaf = chain[0]!
  if (!leaf.checkPrivateKey(key)) {
    return 'private_key does not match the certificate (the first one of certificate_chain).'
  }
  if (!(Date.parse(leaf.validTo) > Date.now())) return `The certificate expired on ${leaf.validTo}.`
  try {
    createSecureContext({ cert: chainPem, key: keyPem })
  } catch (e) {
    return `The certificate cannot be used for TLS: ${reason(e)}.`
  }
  return describe(chain)
}

/** The facts of a chain that checkCertificate accepted (what the store holds). */
export function describeChain(chainPem: string): CertificateFacts {
  return describe(certificateBlocks(chainPem).map((p) => new X509Certificate(p)))
}

const certificateBlocks = (pem: string): string[] =>
  [...pem.matchAll(PEM_BLOCK)].filter((b) => b[1] === 'CERTIFICATE').map((b) => b[0])

function describe(chain: readonly X509Certificate[]): CertificateFacts {
  const leaf = chain[0]!
  return {
    domains: certificateDomains(leaf),
    subject: oneLine(leaf.subject),
    issuer: oneLine(leaf.issuer),
    startsAt: isoSeconds(leaf.validFrom),
    expiresAt: isoSeconds(leaf.validTo),
    selfSigned: issuedBy(leaf, leaf),
    caSigned: leadsToRoot(chain),
    fingerprint: createHash('sha256').update(leaf.raw).digest('hex'),
  }
}

const isoSeconds = (opensslDate: string): string =>
  new Date(Date.parse(opensslDate)).toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * Is `hostname` one the certificate is for? Exact names, and a wildcard (`*.example.com`)
 * for exactly one more label, as TLS clients match (RFC 6125 §6.4.3). A wildcard hostname
 * (`*.example.com` as a custom domain) is covered only by the same wildcard.
 */
export function certificateCovers(domains: readonly string[], hostname: string): boolean {
  const host = hostname.toLowerCase()
  const dot = host.indexOf('.')
  for (const d of domains) {
    const name = d.toLowerCase()
    if (name === host) return true
    if (
      name.startsWith('*.') &&
      !host.startsWith('*.') &&
      dot > 0 &&
      host.slice(dot) === name.slice(1)
    )
      return true
  }
  return false
}

function certificateDomains(cert: X509Certificate): string[] {
  const sans = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase())
  if (sans.length > 0) return [...new Set(sans)]
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1]
  return cn ? [cn.toLowerCase()] : []
}

/** `C=US\nO=Acme\nCN=x` (Node) → `/C=US/O=Acme/CN=x` (OpenSSL's one-line form). */
const oneLine = (name: string): string =>
  name
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `/${l}`)
    .join('')

let roots: X509Certificate[] | undefined

/** Each certificate is signed by the next one, and the last by a root Node trusts. */
function leadsToRoot(chain: readonly X509Certificate[]): boolean {
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i]!, chain[i + 1]!)) return false
  }
  const last = chain[chain.length - 1]!
  roots ??= rootCertificates.map((pem) => new X509Certificate(pem))
  return roots.some((root) => root.fingerprint256 === last.fingerprint256 || issuedBy(last, root))
}

const issuedBy = (cert: X509Certificate, issuer: X509Certificate): boolean =>
  cert.checkIssued(issuer) && cert.verify(issuer.publicKey)

const reason = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).replace(/\.$/, '')
