/**
 * Peer networks (what the operator attached to the host), peerings and the installation's
 * id. The platform writes requests, acceptances and deletes (src/platform/peerings.ts); the
 * host side reports a peering made or failed with `setObservedStatus`.
 */
import type { PeerNetwork, Peering, StoredPeeringStatus } from '../core/peering.js'
import type { Db } from './db.js'

interface PeerNetworkRow {
  id: string
  name: string
  interface: string
  cidrs: string
  gateway: string | null
  created_at: string
}
const toPeerNetwork = (r: PeerNetworkRow): PeerNetwork => ({
  id: r.id,
  name: r.name,
  interface: r.interface,
  cidrs: JSON.parse(r.cidrs) as string[],
  ...(r.gateway !== null && { gateway: r.gateway }),
  createdAt: r.created_at,
})

interface PeeringRow {
  id: string
  accepter_space_id: string
  requester_space_id: string | null
  peer_network_id: string | null
  status: StoredPeeringStatus
  expires_at: string
  created_at: string
  updated_at: string
}
const toPeering = (r: PeeringRow): Peering => ({
  id: r.id,
  accepterSpaceId: r.accepter_space_id,
  ...(r.requester_space_id !== null && { requesterSpaceId: r.requester_space_id }),
  ...(r.peer_network_id !== null && { peerNetworkId: r.peer_network_id }),
  status: r.status,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export class PeeringsRepo {
  constructor(private readonly db: Db) {}

  /** Twelve digits made by the migration, never changed: peering-info's aws_account_id. */
  installationId(): string {
    return this.db
      .prepare("SELECT value FROM installation WHERE key = 'id'")
      .pluck()
      .get() as string
  }

  insertNetwork(n: PeerNetwork): void {
    this.db
      .prepare(
        'INSERT INTO peer_networks (id, name, interface, cidrs, gateway, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(n.id, n.name, n.interface, JSON.stringify(n.cidrs), n.gateway ?? null, n.createdAt)
  }

  network(idOrName: string): PeerNetwork | undefined {
    const r = this.db
      .prepare<[string, string], PeerNetworkRow>(
        'SELECT * FROM peer_networks WHERE id = ? OR name = ?',
      )
      .get(idOrName, idOrName)
    return r && toPeerNetwork(r)
  }

  networks(): PeerNetwork[] {
    return this.db
      .prepare<[], PeerNetworkRow>('SELECT * FROM peer_networks ORDER BY name')
      .all()
      .map(toPeerNetwork)
  }

  /** Removes a peer network; its peerings (all finished, the platform checks) go with it. */
  deleteNetwork(id: string): void {
    this.db.prepare('DELETE FROM peer_networks WHERE id = ?').run(id)
  }

  insert(p: Peering): void {
    this.db
      .prepare(
        `INSERT INTO peerings (id, accepter_space_id, requester_space_id, peer_network_id, status,
           expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        p.id,
        p.accepterSpaceId,
        p.requesterSpaceId ?? null,
        p.peerNetworkId ?? null,
        p.status,
        p.expiresAt,
        p.createdAt,
        p.updatedAt,
      )
  }

  get(id: string): Peering | undefined {
    const r = this.db.prepare<[string], PeeringRow>('SELECT * FROM peerings WHERE id = ?').get(id)
    return r && toPeering(r)
  }

  /** Every peering a space is a side of, oldest first. */
  forSpace(spaceId: string): Peering[] {
    return this.db
      .prepare<[string, string], PeeringRow>(
        `SELECT * FROM peerings WHERE accepter_space_id = ? OR requester_space_id = ?
         ORDER BY created_at, id`,
      )
      .all(spaceId, spaceId)
      .map(toPeering)
  }

  forNetwork(networkId: string): Peering[] {
    return this.db
      .prepare<[string], PeeringRow>('SELECT * FROM peerings WHERE peer_network_id = ?')
      .all(networkId)
      .map(toPeering)
  }

  setStatus(id: string, status: StoredPeeringStatus, now: string): void {
    this.db
      .prepare('UPDATE peerings SET status = ?, updated_at = ? WHERE id = ?')
      .run(status, now, id)
  }

  /**
   * For the host side: the peering is made (`active`) or cannot be (`failed`). Only from
   * `provisioning`/`active`, so a late report never revives a deleted peering; false otherwise.
   */
  setObservedStatus(id: string, status: 'active' | 'failed', now: string): boolean {
    return (
      this.db
        .prepare(
          "UPDATE peerings SET status = ?, updated_at = ? WHERE id = ? AND status IN ('provisioning', 'active')",
        )
        .run(status, now, id).changes === 1
    )
  }
}
