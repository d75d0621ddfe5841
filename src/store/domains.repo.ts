import { coveringWildcard, type AppDomain, type SniEndpoint } from '../core/domains.js'
import type { Db } from './db.js'

interface DomainRow {
  id: string
  app_id: string
  hostname: string
  sni_endpoint_id: string | null
  verification_token: string
  verified_at: string | null
  created_at: string
  updated_at: string
}
const toDomain = (r: DomainRow): AppDomain => ({
  id: r.id,
  appId: r.app_id,
  hostname: r.hostname,
  sniEndpointId: r.sni_endpoint_id,
  verificationToken: r.verification_token,
  verifiedAt: r.verified_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

interface EndpointRow {
  id: string
  app_id: string
  name: string
  certificate_chain: string
  private_key: string
  created_at: string
  updated_at: string
}
const toEndpoint = (r: EndpointRow): SniEndpoint => ({
  id: r.id,
  appId: r.app_id,
  name: r.name,
  certificateChain: r.certificate_chain,
  privateKey: r.private_key,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

/** Who an app belongs to, for wildcard claims: its team, or its owner for a personal app. */
const OWNER = (apps: string) =>
  `coalesce('team:' || ${apps}.team_id, 'account:' || ${apps}.owner_id)`

/** Apps' custom domains and their SNI endpoints (certificates), which domains refer to. */
export class DomainsRepo {
  constructor(private readonly db: Db) {}

  forApp(appId: string): AppDomain[] {
    return this.db
      .prepare<[string], DomainRow>(
        'SELECT * FROM app_domains WHERE app_id = ? ORDER BY created_at, rowid',
      )
      .all(appId)
      .map(toDomain)
  }

  /** The app's verified domains: the ones the router serves. */
  servedForApp(appId: string): AppDomain[] {
    return this.db
      .prepare<[string], DomainRow>(
        `SELECT * FROM app_domains WHERE app_id = ? AND verified_at IS NOT NULL
         ORDER BY created_at, rowid`,
      )
      .all(appId)
      .map(toDomain)
  }

  /** Every verified custom domain of the installation (the router's full sync). */
  served(): AppDomain[] {
    return this.db
      .prepare<[], DomainRow>(
        `SELECT * FROM app_domains WHERE verified_at IS NOT NULL
         ORDER BY app_id, created_at, rowid`,
      )
      .all()
      .map(toDomain)
  }

  /** Every domain still waiting for its TXT record, oldest first (the verifier's work). */
  pending(): AppDomain[] {
    return this.db
      .prepare<[], DomainRow>(
        'SELECT * FROM app_domains WHERE verified_at IS NULL ORDER BY created_at, rowid',
      )
      .all()
      .map(toDomain)
  }

  /** By id or hostname (lowercase), within one app. */
  find(appId: string, idOrHostname: string): AppDomain | undefined {
    const r = this.db
      .prepare<[string, string, string], DomainRow>(
        'SELECT * FROM app_domains WHERE app_id = ? AND (id = ? OR hostname = ?)',
      )
      .get(appId, idOrHostname, idOrHostname.toLowerCase().replace(/\.$/, ''))
    return r && toDomain(r)
  }

  /** Every app's claim to this hostname, verified or not. */
  claims(hostname: string): AppDomain[] {
    return this.db
      .prepare<[string], DomainRow>('SELECT * FROM app_domains WHERE hostname = ? ORDER BY rowid')
      .all(hostname)
      .map(toDomain)
  }

  /**
   * The verified domain that keeps app `appId` from holding `hostname`, if any: the same
   * hostname verified by another app, or the wildcard over it (core/domains.ts
   * `coveringWildcard`) verified by an app of another owner (another team, or for personal
   * apps another account). Within one team, an exact name may go to another of its apps.
   */
  blocker(appId: string, hostname: string): AppDomain | undefined {
    const wildcard = coveringWildcard(hostname)
    const r = this.db
      .prepare<{ app: string; hostname: string; wildcard: string | null }, DomainRow>(
        `SELECT d.* FROM app_domains d JOIN apps a ON a.id = d.app_id
         WHERE d.verified_at IS NOT NULL AND d.app_id <> :app
           AND (d.hostname = :hostname
                OR (d.hostname = :wildcard AND ${OWNER('a')} IS NOT
                    (SELECT ${OWNER('mine')} FROM apps mine WHERE mine.id = :app)))
         ORDER BY d.hostname = :hostname DESC LIMIT 1`,
      )
      .get({ app: appId, hostname, wildcard: wildcard ?? null })
    return r && toDomain(r)
  }

  count(appId: string): number {
    return this.db
      .prepare<[string], { n: number }>('SELECT count(*) n FROM app_domains WHERE app_id = ?')
      .get(appId)!.n
  }

  insert(d: AppDomain): void {
    this.db
      .prepare(
        `INSERT INTO app_domains (id, app_id, hostname, sni_endpoint_id, verification_token,
           verified_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        d.id,
        d.appId,
        d.hostname,
        d.sniEndpointId,
        d.verificationToken,
        d.verifiedAt,
        d.createdAt,
        d.updatedAt,
      )
  }

  /** Marks a pending domain verified; false when it is gone or was verified already. */
  markVerified(id: string, now: string): boolean {
    return (
      this.db
        .prepare(
          'UPDATE app_domains SET verified_at = ?, updated_at = ? WHERE id = ? AND verified_at IS NULL',
        )
        .run(now, now, id).changes === 1
    )
  }

  setSniEndpoint(id: string, sniEndpointId: string | null, now: string): void {
    this.db
      .prepare('UPDATE app_domains SET sni_endpoint_id = ?, updated_at = ? WHERE id = ?')
      .run(sniEndpointId, now, id)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM app_domains WHERE id = ?').run(id)
  }

  endpoints(appId: string): SniEndpoint[] {
    return this.db
      .prepare<[string], EndpointRow>(
        'SELECT * FROM sni_endpoints WHERE app_id = ? ORDER BY created_at, rowid',
      )
      .all(appId)
      .map(toEndpoint)
  }

  /** Every SNI endpoint of the installation (the router's full sync). */
  allEndpoints(): SniEndpoint[] {
    return this.db
      .prepare<[], EndpointRow>('SELECT * FROM sni_endpoints ORDER BY app_id, created_at, rowid')
      .all()
      .map(toEndpoint)
  }

  /** By id or name, within one app. */
  findEndpoint(appId: string, idOrName: string): SniEndpoint | undefined {
    const r = this.db
      .prepare<[string, string, string], EndpointRow>(
        'SELECT * FROM sni_endpoints WHERE app_id = ? AND (id = ? OR name = ?)',
      )
      .get(appId, idOrName, idOrName)
    return r && toEndpoint(r)
  }

  endpointNameTaken(name: string): boolean {
    return (
      this.db
        .prepare<[string], { one: number }>('SELECT 1 one FROM sni_endpoints WHERE name = ?')
        .get(name) !== undefined
    )
  }

  insertEndpoint(e: SniEndpoint): void {
    this.db
      .prepare(
        `INSERT INTO sni_endpoints (id, app_id, name, certificate_chain, private_key, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(e.id, e.appId, e.name, e.certificateChain, e.privateKey, e.createdAt, e.updatedAt)
  }

  replaceCertificate(id: string, chain: string, key: string, now: string): void {
    this.db
      .prepare(
        'UPDATE sni_endpoints SET certificate_chain = ?, private_key = ?, updated_at = ? WHERE id = ?',
      )
      .run(chain, key, now, id)
  }

  /** Domains that chose it are left without an SNI endpoint (ON DELETE SET NULL). */
  deleteEndpoint(id: string): void {
    this.db.prepare('DELETE FROM sni_endpoints WHERE id = ?').run(id)
  }
}
