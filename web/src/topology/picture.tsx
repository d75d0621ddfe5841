/**
 * The space as an SVG picture: the boundary, the routers, each app with its process types and
 * dynos (colour and symbol for the state, private IP under the name, the DNS name in the
 * tooltip), the NAT addresses, the data network, and VPN tunnels and peerings at the edge.
 * Loaded on demand (it brings dagre): the spaces list does not pay for it.
 */
import { layoutPicture, type Placed } from './layout.js'
import {
  CHIP_GAP,
  CHIP_H,
  CHIP_W,
  chipColumns,
  LINE_H,
  PAD,
  TITLE_H,
  TYPE_H,
  buildPicture,
  type AppInput,
  type DynoInput,
  type PictureInput,
} from './model.js'

const STATE_MARK: Record<string, string> = {
  up: '●',
  starting: '◐',
  crashed: '✕',
  down: '○',
  idle: '○',
}

/**
 * One dyno: a few SVG nodes only (one text node per line), since a space draws hundreds. Its
 * DNS name and full state are in the dyno table under the picture, which screen readers use.
 */
function Chip({ dyno, x, y }: { dyno: DynoInput; x: number; y: number }) {
  return (
    <g class={`dyno ${dyno.state}`} transform={`translate(${x},${y})`} data-dyno={dyno.name}>
      <rect width={CHIP_W} height={CHIP_H} rx={4} />
      <text x={6} y={14}>{`${STATE_MARK[dyno.state] ?? '○'} ${dyno.name}`}</text>
      <text x={6} y={29} class="dyno-ip">
        {dyno.privateIp ?? '—'}
      </text>
    </g>
  )
}

function AppBox({ node, app }: { node: Placed; app: AppInput }) {
  const columns = chipColumns(app)
  let y = TITLE_H + PAD
  const parts = app.processes.map((p) => {
    const top = y
    const rows = Math.max(1, Math.ceil(p.dynos.length / columns))
    y += TYPE_H + rows * (CHIP_H + CHIP_GAP)
    return (
      <g key={p.type}>
        <text x={PAD} y={top + 12} class="ptype">{`${p.type} (${p.dynos.length})`}</text>
        {p.dynos.map((d, i) => (
          <Chip
            key={d.name}
            dyno={d}
            x={PAD + (i % columns) * (CHIP_W + CHIP_GAP)}
            y={top + TYPE_H + Math.floor(i / columns) * (CHIP_H + CHIP_GAP)}
          />
        ))}
      </g>
    )
  })
  return (
    <g class="node app" transform={`translate(${node.x},${node.y})`} data-app={app.name}>
      <rect width={node.width} height={node.height} rx={6} />
      <a href={`#/apps/${encodeURIComponent(app.name)}`}>
        <text x={PAD} y={17} class="title">
          {app.name}
          {app.internalRouting ? ' (internal)' : ''}
        </text>
      </a>
      {parts}
      {app.processes.length === 0 && (
        <text x={PAD} y={TITLE_H + PAD + 12} class="line">
          no dynos
        </text>
      )}
    </g>
  )
}

function Box({ node }: { node: Placed }) {
  return (
    <g class={`node ${node.kind}`} transform={`translate(${node.x},${node.y})`} data-node={node.id}>
      <rect width={node.width} height={node.height} rx={6} />
      <text x={PAD} y={17} class="title">
        {node.title}
      </text>
      {node.lines.map((line, i) => (
        <text key={i} x={PAD} y={TITLE_H + 8 + i * LINE_H} class="line">
          {line}
        </text>
      ))}
      {node.status !== undefined && (
        <text x={PAD} y={TITLE_H + 8 + node.lines.length * LINE_H} class={`status ${node.status}`}>
          {node.status}
        </text>
      )}
    </g>
  )
}

export function Picture({ input }: { input: PictureInput }) {
  const graph = buildPicture(input)
  const placed = layoutPicture(graph)
  const b = placed.boundary
  const minX = Math.min(0, b.x)
  const minY = Math.min(0, b.y)
  const width = placed.width - minX
  const height = placed.height - minY
  return (
    <svg
      class="topology"
      viewBox={`${minX} ${minY} ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={`Network of space ${input.space.name}: ${input.apps.length} apps, ${input.apps.reduce((n, a) => n + a.processes.reduce((m, p) => m + p.dynos.length, 0), 0)} dynos`}
    >
      <rect class="boundary" x={b.x} y={b.y} width={b.width} height={b.height} rx={10} />
      <text class="boundary-label" x={b.x + 12} y={b.y + 20}>
        {graph.boundaryLabel}
      </text>
      <g class="edges">
        {placed.edges.map((e) => (
          <polyline
            key={`${e.from}>${e.to}`}
            points={e.points.map((p) => `${p.x},${p.y}`).join(' ')}
          />
        ))}
      </g>
      {placed.nodes.map((n) =>
        n.app ? <AppBox key={n.id} node={n} app={n.app} /> : <Box key={n.id} node={n} />,
      )}
    </svg>
  )
}

export default Picture
