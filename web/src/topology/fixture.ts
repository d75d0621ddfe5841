/**
 * A space of the size the dashboard must draw legibly and fast: `apps` apps with `dynos`
 * dynos in all (web and worker), every dyno with an address and a DNS name. For the bench and
 * the tests; not part of the page.
 */
import type { PictureInput } from './model.js'

const STATES = ['up', 'up', 'up', 'up', 'starting', 'crashed']

export function fixtureSpace(apps = 20, dynos = 200): PictureInput {
  const perApp = Math.floor(dynos / apps)
  let address = 0
  return {
    space: {
      name: 'bench-space',
      cidr: '10.0.0.0/16',
      dataCidr: '10.1.0.0/16',
      state: 'allocated',
    },
    trusted: [
      { action: 'allow', source: '198.51.100.0/24' },
      { action: 'allow', source: '203.0.113.0/24' },
    ],
    nat: ['198.18.0.10', '198.18.0.11'],
    apps: Array.from({ length: apps }, (_, a) => {
      const name = `app-${String(a + 1).padStart(2, '0')}`
      const web = Math.ceil(perApp * 0.7)
      const types = [
        { type: 'web', count: web },
        { type: 'worker', count: perApp - web },
      ]
      return {
        id: `00000000-0000-4000-8000-${String(a).padStart(12, '0')}`,
        name,
        internalRouting: a % 5 === 4,
        processes: types.map(({ type, count }) => ({
          type,
          dynos: Array.from({ length: count }, (_, i) => {
            const n = address++
            return {
              name: `${type}.${i + 1}`,
              state: STATES[n % STATES.length]!,
              privateIp: `10.0.${128 + Math.floor(n / 256)}.${n % 256}`,
              hostname: `${i + 1}.${type}.${name}.app.localspace`,
            }
          }),
        })),
        addons:
          a % 4 === 0
            ? [{ name: `postgresql-${name}`, plan: 'heroku-postgresql:essential-0' }]
            : [],
      }
    }),
    vpns: [],
    peerings: [],
  }
}
