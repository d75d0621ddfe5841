/**
 * Places the picture's boxes with dagre (a layered graph layout, the classic Sugiyama method):
 * a few dozen boxes however many dynos, since dynos are laid out inside their app's box.
 */
import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre'
import { PAD, type PictureEdge, type PictureGraph, type PictureNode } from './model.js'

export interface Placed extends PictureNode {
  /** Top-left corner. */
  x: number
  y: number
}

export interface PlacedPicture {
  nodes: Placed[]
  edges: Array<PictureEdge & { points: Array<{ x: number; y: number }> }>
  boundary: { x: number; y: number; width: number; height: number }
  width: number
  height: number
}

const MARGIN = 24
/** Room above the boundary's contents for its label. */
const BOUNDARY_LABEL_H = 28

export function layoutPicture(graph: PictureGraph): PlacedPicture {
  const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>()
  g.setGraph({
    rankdir: 'LR',
    nodesep: 18,
    ranksep: 70,
    marginx: MARGIN,
    marginy: MARGIN + BOUNDARY_LABEL_H,
  })
  g.setDefaultEdgeLabel(() => ({}))
  for (const n of graph.nodes) g.setNode(n.id, { width: n.width, height: n.height })
  for (const e of graph.edges) g.setEdge(e.from, e.to)
  // The layers are few and the boxes big: dagre's extra ordering passes cost more time than
  // they save crossings here.
  dagre.layout(g, { disableOptimalOrderHeuristic: true })

  const nodes: Placed[] = graph.nodes.map((n) => {
    const p = g.node(n.id)
    return { ...n, x: (p.x ?? 0) - n.width / 2, y: (p.y ?? 0) - n.height / 2 }
  })
  const edges = graph.edges.map((e) => ({ ...e, points: g.edge(e.from, e.to).points ?? [] }))

  const inside = nodes.filter((n) => n.inside)
  const left = Math.min(...inside.map((n) => n.x)) - PAD * 2
  const top = Math.min(...inside.map((n) => n.y)) - PAD * 2 - BOUNDARY_LABEL_H
  const right = Math.max(...inside.map((n) => n.x + n.width)) + PAD * 2
  const bottom = Math.max(...inside.map((n) => n.y + n.height)) + PAD * 2
  const label = g.graph()
  return {
    nodes,
    edges,
    boundary: { x: left, y: top, width: right - left, height: bottom - top },
    width: Math.max(label.width ?? 0, right + MARGIN),
    height: Math.max(label.height ?? 0, bottom + MARGIN),
  }
}
