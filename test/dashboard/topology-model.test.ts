/**
 * The space picture's graph (web/src/topology/model.ts) from API data: routers, apps with
 * dynos, NAT, the data network only with add-ons, VPN tunnels and peerings only when the API
 * lists them; and the layout (dagre) keeps boxes apart with the inside within the boundary.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fixtureSpace } from '../../web/src/topology/fixture.js'
import { layoutPicture } from '../../web/src/topology/layout.js'
import {
  buildPicture,
  internalRouterAddress,
  type PictureInput,
} from '../../web/src/topology/model.js'

const kinds = (input: PictureInput) => buildPicture(input).nodes.map((n) => n.kind)

describe('topology picture model', () => {
  test('the internal router is C.0.3 of the dyno network', () => {
    assert.equal(internalRouterAddress('10.0.0.0/16'), '10.0.0.3')
    assert.equal(internalRouterAddress('172.20.0.0/16'), '172.20.0.3')
  })

  test('without VPN, peerings or add-ons, none of them is drawn', () => {
    const input = {
      ...fixtureSpace(3, 6),
      apps: fixtureSpace(3, 6).apps.map((a) => ({ ...a, addons: [] })),
    }
    const k = kinds(input)
    assert.deepEqual([...new Set(k)].sort(), [
      'app',
      'internal-router',
      'internet',
      'nat',
      'public-router',
    ])
    assert.equal(k.filter((x) => x === 'app').length, 3)
  })

  test('apps connect to the router that reaches them, to NAT, and to the data network with add-ons', () => {
    const input = fixtureSpace(5, 10)
    const { nodes, edges } = buildPicture(input)
    const internal = input.apps.find((a) => a.internalRouting)!
    const pub = input.apps.find((a) => !a.internalRouting)!
    assert.ok(edges.some((e) => e.from === 'internal-router' && e.to === `app:${internal.id}`))
    assert.ok(edges.some((e) => e.from === 'public-router' && e.to === `app:${pub.id}`))
    assert.equal(edges.filter((e) => e.to === 'nat').length, 5)
    const data = nodes.find((n) => n.kind === 'data')!
    assert.ok(data.lines.includes('10.1.0.0/16'))
    assert.ok(data.width >= 'postgresql-app-01 (heroku-postgresql:essential-0)'.length * 7)
    assert.ok(data.lines.some((l) => l.startsWith('postgresql-app-01')))
    const router = nodes.find((n) => n.kind === 'public-router')!
    assert.deepEqual(router.lines, ['allow 198.51.100.0/24', 'allow 203.0.113.0/24'])
  })

  test('VPN connections (UP/DOWN by their tunnels) and peerings are drawn at the edge when listed', () => {
    const input: PictureInput = {
      ...fixtureSpace(2, 4),
      vpns: [
        {
          name: 'office',
          status: 'active',
          cidrs: ['192.168.0.0/16'],
          tunnels: [
            { ip: '198.51.100.7', status: 'UP' },
            { ip: '198.51.100.8', status: 'UP' },
          ],
        },
        {
          name: 'lab',
          status: 'active',
          cidrs: ['192.168.50.0/24'],
          tunnels: [
            { ip: '198.51.100.9', status: 'UP' },
            { ip: '198.51.100.10', status: 'DOWN' },
          ],
        },
      ],
      peerings: [
        { id: 'pcx-1', type: 'customer-managed', status: 'active', cidrs: ['10.9.0.0/16'] },
      ],
    }
    const { nodes, edges } = buildPicture(input)
    const office = nodes.find((n) => n.id === 'vpn:office')!
    const lab = nodes.find((n) => n.id === 'vpn:lab')!
    assert.equal(office.status, 'UP')
    assert.equal(lab.status, 'DOWN')
    assert.ok(lab.lines.includes('tunnel 198.51.100.10 DOWN'))
    assert.equal(office.inside, false, 'at the edge, outside the boundary')
    const peering = nodes.find((n) => n.kind === 'peering')!
    assert.equal(peering.status, 'active')
    assert.ok(peering.lines.includes('10.9.0.0/16'))
    for (const id of ['vpn:office', 'vpn:lab', 'peering:pcx-1']) {
      assert.ok(edges.some((e) => e.from === id && e.to === 'internal-router'))
    }
  })

  test('long lists are cut with a count, so a box stays readable', () => {
    const input = fixtureSpace(1, 2)
    input.trusted = Array.from({ length: 30 }, (_, i) => ({
      action: 'allow',
      source: `203.0.113.${i}/32`,
    }))
    const router = buildPicture(input).nodes.find((n) => n.kind === 'public-router')!
    assert.equal(router.lines.length, 8)
    assert.equal(router.lines.at(-1), '+23 more ranges')
  })

  test('laid out, no two boxes overlap and the boundary holds every inside box', () => {
    const placed = layoutPicture(buildPicture(fixtureSpace(20, 200)))
    const b = placed.boundary
    for (const [i, a] of placed.nodes.entries()) {
      for (const c of placed.nodes.slice(i + 1)) {
        const apart =
          a.x + a.width <= c.x ||
          c.x + c.width <= a.x ||
          a.y + a.height <= c.y ||
          c.y + c.height <= a.y
        assert.ok(apart, `${a.id} and ${c.id} overlap`)
      }
      if (a.inside) {
        assert.ok(
          a.x >= b.x &&
            a.y >= b.y &&
            a.x + a.width <= b.x + b.width &&
            a.y + a.height <= b.y + b.height,
          a.id,
        )
      }
    }
    assert.equal(placed.nodes.filter((n) => n.kind === 'app').length, 20)
  })
})
