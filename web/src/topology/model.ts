/**
 * What the space picture shows, as a graph, from the API's data alone (pure: no DOM, no
 * layout, so the tests check it in Node). Nodes have sizes; web/src/topology/layout.ts places
 * them with dagre and picture.tsx draws them.
 *
 * Left to right: the internet and the edge (VPN tunnels, peerings) → the space's routers (the
 * public router with its trusted ranges, the internal router on C.0.3) → the apps, each a box
 * of its process types and their dynos → the outbound NAT addresses and the data network with
 * its add-ons. Everything but the internet and the edge sits inside the space boundary.
 */

export interface DynoInput {
  name: string
  state: string
  privateIp: string | undefined
  hostname: string | undefined
}

export interface AppInput {
  id: string
  name: string
  internalRouting: boolean
  processes: Array<{ type: string; dynos: DynoInput[] }>
  addons: Array<{ name: string; plan: string }>
}

export interface PictureInput {
  space: { name: string; cidr: string; dataCidr: string; state: string }
  trusted: Array<{ action: string; source: string }>
  nat: string[]
  apps: AppInput[]
  vpns: Array<{
    name: string
    status: string
    tunnels: Array<{ ip: string; status: string }>
    cidrs: string[]
  }>
  peerings: Array<{ id: string; type: string; status: string; cidrs: string[] }>
}

export type NodeKind =
  'internet' | 'public-router' | 'internal-router' | 'app' | 'nat' | 'data' | 'vpn' | 'peering'

export interface PictureNode {
  id: string
  kind: NodeKind
  title: string
  /** Lines under the title (addresses, ranges, add-ons). */
  lines: string[]
  width: number
  height: number
  /** Inside the space boundary. */
  inside: boolean
  /** UP/DOWN, active, …: drawn as a badge. */
  status?: string
  app?: AppInput
}

export interface PictureEdge {
  from: string
  to: string
}

export interface PictureGraph {
  nodes: PictureNode[]
  edges: PictureEdge[]
  boundaryLabel: string
}

// Sizes in SVG units (CSS pixels at 100%): text of 12 px stays legible at natural size.
export const LINE_H = 16
export const TITLE_H = 24
export const PAD = 10
export const CHIP_W = 104
export const CHIP_H = 36
export const CHIP_GAP = 6
export const TYPE_H = 18
const MAX_CHIP_COLUMNS = 5
const BOX_W = 210
const CHAR_W = 7
/** At most this many lines of a list (trusted ranges, add-ons) are drawn; the rest are counted. */
const MAX_LINES = 8

/** The internal router's address: C.0.3 of the space's dyno network. */
export function internalRouterAddress(cidr: string): string {
  const [a = '10', b = '0'] = cidr.split('/')[0]!.split('.')
  return `${a}.${b}.0.3`
}

/** Columns of dyno chips in an app box: enough for its largest process type, at most 5. */
export function chipColumns(app: AppInput): number {
  const most = Math.max(1, ...app.processes.map((p) => p.dynos.length))
  return Math.min(MAX_CHIP_COLUMNS, Math.max(2, most))
}

export function appBoxSize(app: AppInput): { width: number; height: number } {
  const columns = chipColumns(app)
  const width = PAD * 2 + columns * CHIP_W + (columns - 1) * CHIP_GAP
  let height = TITLE_H + PAD
  for (const p of app.processes) {
    const rows = Math.max(1, Math.ceil(p.dynos.length / columns))
    height += TYPE_H + rows * (CHIP_H + CHIP_GAP)
  }
  if (app.processes.length === 0) height += LINE_H
  return { width, height: height + PAD }
}

function capped(lines: string[], what: string): string[] {
  if (lines.length <= MAX_LINES) return lines
  return [...lines.slice(0, MAX_LINES - 1), `+${lines.length - MAX_LINES + 1} more ${what}`]
}

function box(
  id: string,
  kind: NodeKind,
  title: string,
  lines: string[],
  inside: boolean,
  status?: string,
): PictureNode {
  return {
    id,
    kind,
    title,
    lines,
    // Wide enough for its longest line (about 7 px a character at 12 px): text never spills.
    width: Math.max(
      BOX_W,
      PAD * 2 + Math.max(title.length, ...lines.map((l) => l.length)) * CHAR_W,
    ),
    height: TITLE_H + PAD + lines.length * LINE_H + (status ? LINE_H : 0),
    inside,
    ...(status !== undefined && { status }),
  }
}

export function buildPicture(input: PictureInput): PictureGraph {
  const nodes: PictureNode[] = []
  const edges: PictureEdge[] = []
  const { space } = input

  const trusted = input.trusted.map((r) => `${r.action} ${r.source}`)
  nodes.push(box('internet', 'internet', 'Internet', [], false))
  nodes.push(
    box(
      'public-router',
      'public-router',
      'Public router',
      capped(trusted.length ? trusted : ['no trusted ranges'], 'ranges'),
      true,
    ),
  )
  nodes.push(
    box(
      'internal-router',
      'internal-router',
      'Internal router',
      [internalRouterAddress(space.cidr)],
      true,
    ),
  )
  edges.push({ from: 'internet', to: 'public-router' })

  for (const vpn of input.vpns) {
    const id = `vpn:${vpn.name}`
    const tunnels = vpn.tunnels.map((t) => `tunnel ${t.ip} ${t.status}`)
    nodes.push(
      box(
        id,
        'vpn',
        `VPN ${vpn.name}`,
        capped([...vpn.cidrs, ...tunnels], 'lines'),
        false,
        vpnStatus(vpn),
      ),
    )
    edges.push({ from: id, to: 'internal-router' })
  }
  for (const peering of input.peerings) {
    const id = `peering:${peering.id}`
    nodes.push(
      box(
        id,
        'peering',
        `Peering ${peering.id}`,
        capped([peering.type, ...peering.cidrs], 'ranges'),
        false,
        peering.status,
      ),
    )
    edges.push({ from: id, to: 'internal-router' })
  }

  nodes.push(
    box(
      'nat',
      'nat',
      'Outbound NAT',
      capped(input.nat.length ? input.nat : ['—'], 'addresses'),
      true,
    ),
  )
  const addons = input.apps.flatMap((a) => a.addons.map((x) => `${x.name} (${x.plan})`))
  if (addons.length > 0) {
    nodes.push(
      box('data', 'data', 'Data network', capped([space.dataCidr, ...addons], 'add-ons'), true),
    )
  }

  for (const app of input.apps) {
    const id = `app:${app.id}`
    nodes.push({
      id,
      kind: 'app',
      title: app.name,
      lines: [],
      inside: true,
      app,
      ...appBoxSize(app),
    })
    // Internal-routing apps are reached through C.0.3; the others through the public router.
    edges.push({ from: app.internalRouting ? 'internal-router' : 'public-router', to: id })
    edges.push({ from: id, to: 'nat' })
    if (app.addons.length > 0) edges.push({ from: id, to: 'data' })
  }

  return {
    nodes,
    edges,
    boundaryLabel: `Space ${space.name} · ${space.cidr} · data ${space.dataCidr} · ${space.state}`,
  }
}

/** A VPN connection is UP when all its tunnels are, DOWN when any is down. */
function vpnStatus(vpn: PictureInput['vpns'][number]): string {
  if (vpn.tunnels.length === 0) return vpn.status
  return vpn.tunnels.every((t) => t.status === 'UP') ? 'UP' : 'DOWN'
}
