/**
 * VPN connections and their two tunnels. The platform writes what users ask for
 * (src/platform/vpn.ts); the host side writes what it observes (status, tunnel status, the
 * end of deprovisioning) with the `set…`/`finish…` methods, which never undo a user's delete.
 */
import type { TunnelStatus, VpnConnection, VpnStatus, VpnTunnel } from '../core/vpn.js'
import type { Db } from './db.js'

interface ConnectionRow {
  id: string
  space_id: string
  name: string
  public_ip: string
  routable_cidrs: string
  ike_version: number
  status: VpnStatus
  status_message: string
  created_at: string
  updated_at: string
}

interface TunnelRow {
  connection_id: string
  idx: 0 | 1
  ip: string
  pre_shared_key: string
  status: TunnelStatus
  status_message: string
  last_status_change: string
}

/** The statuses the host side may report; `pending` and `deprovisioning` are the user's. */
export type ObservedVpnStatus = 'provisioning' | 'active' | 'failed'

export class VpnRepo {
  constructor(private readonly db: Db) {}

  private withTunnels(rows: ConnectionRow[]): VpnConnection[] {
    if (rows.length === 0) return []
    const tunnels = this.db
      .prepare<string[], TunnelRow>(
        `SELECT * FROM vpn_tunnels WHERE connection_id IN (${rows.map(() => '?').join(',')}) ORDER BY idx`,
      )
      .all(...rows.map((r) => r.id))
    return rows.map((r) => ({
      id: r.id,
      spaceId: r.space_id,
      name: r.name,
      publicIp: r.public_ip,
      routableCidrs: JSON.parse(r.routable_cidrs) as string[],
      ikeVersion: r.ike_version === 2 ? 2 : 1,
      status: r.status,
      statusMessage: r.status_message,
      tunnels: tunnels
        .filter((t) => t.connection_id === r.id)
        .map((t): VpnTunnel => ({
          index: t.idx,
          ip: t.ip,
          customerIp: r.public_ip,
          preSharedKey: t.pre_shared_key,
          status: t.status,
          statusMessage: t.status_message,
          lastStatusChange: t.last_status_change,
        })),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }))
  }

  insert(c: VpnConnection): void {
    this.db
      .prepare(
        `INSERT INTO vpn_connections (id, space_id, name, public_ip, routable_cidrs, ike_version,
           status, status_message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.id,
        c.spaceId,
        c.name,
        c.publicIp,
        JSON.stringify(c.routableCidrs),
        c.ikeVersion,
        c.status,
        c.statusMessage,
        c.createdAt,
        c.updatedAt,
      )
    const tunnel = this.db.prepare(
      `INSERT INTO vpn_tunnels (connection_id, idx, ip, pre_shared_key, status, status_message,
         last_status_change) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    for (const t of c.tunnels) {
      tunnel.run(c.id, t.index, t.ip, t.preSharedKey, t.status, t.statusMessage, t.lastStatusChange)
    }
  }

  /** By id or by name, within the space. */
  find(spaceId: string, idOrName: string): VpnConnection | undefined {
    const rows = this.db
      .prepare<[string, string, string], ConnectionRow>(
        'SELECT * FROM vpn_connections WHERE space_id = ? AND (id = ? OR name = ?)',
      )
      .all(spaceId, idOrName, idOrName)
    return this.withTunnels(rows)[0]
  }

  get(id: string): VpnConnection | undefined {
    const rows = this.db
      .prepare<[string], ConnectionRow>('SELECT * FROM vpn_connections WHERE id = ?')
      .all(id)
    return this.withTunnels(rows)[0]
  }

  forSpace(spaceId: string): VpnConnection[] {
    const rows = this.db
      .prepare<[string], ConnectionRow>(
        'SELECT * FROM vpn_connections WHERE space_id = ? ORDER BY created_at, name',
      )
      .all(spaceId)
    return this.withTunnels(rows)
  }

  /** Every tunnel address held, installation-wide (the pool's taken set). */
  tunnelAddresses(): string[] {
    return this.db.prepare('SELECT ip FROM vpn_tunnels').pluck().all() as string[]
  }

  /** A user's change of the routable CIDRs, with the status it leads to. */
  update(
    id: string,
    change: { routableCidrs: string[]; status: VpnStatus; statusMessage: string },
    now: string,
  ): void {
    this.db
      .prepare(
        'UPDATE vpn_connections SET routable_cidrs = ?, status = ?, status_message = ?, updated_at = ? WHERE id = ?',
      )
      .run(JSON.stringify(change.routableCidrs), change.status, change.statusMessage, now, id)
  }

  /** The user's delete: the host side tears the tunnels down, then calls finishDeprovisioning. */
  markDeprovisioning(id: string, now: string): void {
    this.db
      .prepare(
        "UPDATE vpn_connections SET status = 'deprovisioning', status_message = '', updated_at = ? WHERE id = ?",
      )
      .run(now, id)
  }

  /** Removes the connection; its tunnel rows go with it, which frees their pool addresses. */
  delete(id: string): void {
    this.db.prepare('DELETE FROM vpn_connections WHERE id = ?').run(id)
  }

  /**
   * For the host side: what it made of a connection. Ignored (false) once the user deleted it
   * (`deprovisioning`) or when it is gone, so a late report never revives a connection.
   */
  setConnectionStatus(
    id: string,
    status: ObservedVpnStatus,
    message: string,
    now: string,
  ): boolean {
    return (
      this.db
        .prepare(
          "UPDATE vpn_connections SET status = ?, status_message = ?, updated_at = ? WHERE id = ? AND status <> 'deprovisioning'",
        )
        .run(status, message, now, id).changes === 1
    )
  }

  /**
   * For the host side: a tunnel's IKE/CHILD SA state and charon's last word on it.
   * `last_status_change` moves only when the status does. False: no such tunnel.
   */
  setTunnelStatus(
    id: string,
    index: 0 | 1,
    status: TunnelStatus,
    message: string,
    at: string,
  ): boolean {
    return (
      this.db
        .prepare(
          `UPDATE vpn_tunnels SET
             last_status_change = CASE WHEN status = ? THEN last_status_change ELSE ? END,
             status = ?, status_message = ?
           WHERE connection_id = ? AND idx = ?`,
        )
        .run(status, at, status, message, id, index).changes === 1
    )
  }

  /**
   * For the host side, once nothing of a deleted connection is left on the host: the rows
   * go, and with them the pool addresses. Only a `deprovisioning` connection; false otherwise.
   */
  finishDeprovisioning(id: string): boolean {
    return (
      this.db
        .prepare("DELETE FROM vpn_connections WHERE id = ? AND status = 'deprovisioning'")
        .run(id).changes === 1
    )
  }
}
