import type { AppDomain, SniEndpoint } from '../core/domains.js'
import type { Db } from './db.js'

interface DomainRow {
  id: string
  app_id: string
  hostname: string
  sni_endpoint_id: string | null
  created_at: string
  updated_at: string
}
const toDomain = (r: DomainRow): AppDomain => ({
  id: r.id,
  appId: r.app_id,
  hostname: r.hostname,
  sniEndpointId: r.sni_endpoint_id,
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

  /** Every custom domain of the installation (the router's full sync). */
  all(): AppDomain[] {
    return this.db
      .prepare<[], DomainRow>('SELECT * FROM app_domains ORDER BY app_id, created_at, rowid')
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

  /** The domain with this hostname in any app. */
  byHostname(hostname: string): AppDomain | undefined {
    const r = this.db
      .prepare<[string], DomainRow>('SELECT * FROM app_domains WHERE hostname = ?')
      .get(hostname)
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
        `INSERT INTO app_domains (id, app_id, hostname, sni_endpoint_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(d.id, d.appId, d.hostname, d.sniEndpointId, d.createdAt, d.updatedAt)
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
