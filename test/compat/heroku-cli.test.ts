/**
 * The official `heroku` CLI (node_modules/heroku, 11.10.x) against a real localspace daemon.
 * Each test runs CLI commands as child processes and checks what they print; the recording
 * proxy in front of the daemon checks every JSON body the API returns against Heroku's schema.
 * Tests run in order: later ones use what earlier ones made. Needs `npm run build` first.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  loginHome,
  ok,
  fails,
  fields,
  flat,
  startCompat,
  tableRows,
  type Compat,
} from './harness.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const ADMIN_EMAIL = 'admin@localspace.localhost'

const REGIONS = [
  ['dublin', 'Dublin, Ireland'],
  ['frankfurt', 'Frankfurt, Germany'],
  ['london', 'London, United Kingdom'],
  ['montreal', 'Montreal, Canada'],
  ['mumbai', 'Mumbai, India'],
  ['oregon', 'Oregon, United States'],
  ['singapore', 'Singapore'],
  ['sydney', 'Sydney, Australia'],
  ['tokyo', 'Tokyo, Japan'],
  ['virginia', 'Virginia, United States'],
]

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')

// Starts real daemons, which manage the host's network: in a sandbox of its own.
if (sandboxed(import.meta.url)) {
  describe('the official heroku CLI against localspace', () => {
    const sfx = randomBytes(3).toString('hex')
    const team = `team-${sfx}`
    const space = `space-${sfx}`
    const renamed = `spc-${sfx}-b`
    const webApp = `web-${sfx}`
    const internalApp = `int-${sfx}`
    const personalApp = `own-${sfx}`
    let c: Compat
    let heroku: Compat['heroku']
    let spaceId = ''

    before(async () => {
      c = await startCompat()
      heroku = c.heroku
      const created = await c.api('POST', '/teams', { name: team })
      assert.equal(created.status, 201, JSON.stringify(created.body))
    })

    after(async () => {
      await c?.stop()
    })

    test('regions --private lists the ten Private Space regions; spaces is empty', async () => {
      const [regions, spaces] = await Promise.all([
        heroku(['regions', '--private']),
        heroku(['spaces']),
      ])
      ok(regions)
      assert.deepEqual(
        tableRows(regions.stdout),
        REGIONS.map(([name, location]) => [name, location, 'Private Spaces']),
      )
      fails(spaces, 'You do not have access to any spaces.')
    })

    test('spaces:create makes an allocating space with the default networks', async () => {
      const r = ok(
        await heroku(['spaces:create', '--space', space, '--team', team, '--region', 'tokyo']),
      )
      const f = fields(r.stdout)
      assert.match(r.stdout, new RegExp(`^=== ${space}$`, 'm'))
      assert.match(f.ID!, /^[0-9a-f-]{36}$/)
      spaceId = f.ID!
      assert.equal(f.Team, team)
      assert.equal(f.Region, 'tokyo')
      assert.equal(f.CIDR, '10.0.0.0/16')
      assert.equal(f['Data CIDR'], '10.1.0.0/16')
      assert.equal(f.State, 'allocating')
      assert.equal(f.Shield, 'off')
      assert.equal(f.Generation, 'cedar')
      assert.match(f['Created at']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      assert.ok(flat(r.stderr).includes(`Creating space ${space} in team ${team}... done`))
      assert.ok(flat(r.stderr).includes('Spend Alert'), r.stderr)
      assert.ok(flat(r.stderr).includes('Use heroku spaces:wait to track allocation.'))
    })

    test('spaces, spaces:info, spaces:info --json and spaces:wait show the allocated space', async () => {
      // Allocation builds the space's bridges and firewall first: wait as a user would.
      const waited = ok(await heroku(['spaces:wait', space, '--interval', '1']))
      assert.match(flat(waited.stdout), /State: allocated/)
      const nat = await c.api('GET', `/spaces/${space}/nat`)
      assert.equal(nat.body.state, 'enabled')
      const outbound = (nat.body.sources as string[]).join(', ')
      const [list, info, json, wait] = await Promise.all([
        heroku(['spaces']),
        heroku(['spaces:info', space]),
        heroku(['spaces:info', space, '--json']),
        heroku(['spaces:wait', space, '--interval', '1']),
      ])

      const row = tableRows(ok(list).stdout).find((cells) => cells[0] === space)
      assert.ok(row, list.stdout)
      assert.deepEqual(row.slice(0, 5), [space, team, 'tokyo', 'allocated', 'cedar'])

      for (const r of [info, wait]) {
        const f = fields(ok(r).stdout)
        assert.match(r.stdout, new RegExp(`^=== ${space}$`, 'm'))
        assert.equal(f.ID, spaceId)
        assert.equal(f.Team, team)
        assert.equal(f.Region, 'Tokyo, Japan') // region.description via Accept-Expansion
        assert.equal(f.CIDR, '10.0.0.0/16')
        assert.equal(f['Data CIDR'], '10.1.0.0/16')
        assert.equal(f.State, 'allocated')
        assert.equal(f.Shield, 'off')
        assert.equal(f['Outbound IPs'] ?? '', outbound)
        assert.equal(f.Generation, 'cedar')
      }
      assert.ok(flat(wait.stderr).includes(`Waiting for space ${space} to allocate... done`))

      const body = JSON.parse(ok(json).stdout)
      assert.equal(body.id, spaceId)
      assert.equal(body.name, space)
      assert.equal(body.state, 'allocated')
      assert.equal(body.shield, false)
      assert.equal(body.cidr, '10.0.0.0/16')
      assert.equal(body.data_cidr, '10.1.0.0/16')
      assert.equal(body.region.name, 'tokyo')
      assert.equal(body.team.name, team)
      assert.equal(body.generation.name, 'cedar')
      assert.equal(body.outbound_ips.state, 'enabled')
      assert.deepEqual(body.outbound_ips.sources, nat.body.sources)
    })

    test('spaces:rename renames the space', async () => {
      const r = ok(await heroku(['spaces:rename', '--from', space, '--to', renamed]))
      assert.ok(flat(r.stderr).includes(`Renaming space from ${space} to ${renamed}... done`))
      const body = JSON.parse(ok(await heroku(['spaces:info', renamed, '--json'])).stdout)
      assert.equal(body.id, spaceId)
      assert.equal(body.name, renamed)
      assert.equal((await c.api('GET', `/spaces/${space}`)).status, 404)
    })

    // Independent of each other: run side by side.
    describe('trusted IP ranges and login', { concurrency: true }, () => {
      test('spaces:trusted-ips shows, adds and removes trusted IP ranges', async () => {
        const shown = ok(await heroku(['spaces:trusted-ips', '--space', renamed]))
        assert.deepEqual(lines(shown.stdout), [
          '=== Trusted IP Ranges',
          '0.0.0.0/0',
          'Trusted IP rules are applied to this space.',
        ])

        const added = ok(
          await heroku(['spaces:trusted-ips:add', '203.0.113.0/24', '--space', renamed]),
        )
        assert.ok(
          flat(added.stdout).includes(`Added 203.0.113.0/24 to trusted IP ranges on ${renamed}`),
          added.stdout,
        )
        const ruleset = await c.api('GET', `/spaces/${renamed}/inbound-ruleset`)
        assert.deepEqual(ruleset.body.rules, [
          { action: 'allow', source: '0.0.0.0/0' },
          { action: 'allow', source: '203.0.113.0/24' },
        ])

        // Neither writes: both stop at the client-side check.
        const [again, missing] = await Promise.all([
          heroku(['spaces:trusted-ips:add', '203.0.113.0/24', '--space', renamed]),
          heroku(['spaces:trusted-ips:remove', '198.51.100.0/24', '--space', renamed]),
        ])
        fails(again, 'A rule already exists for 203.0.113.0/24.')
        fails(missing, 'No IP range matching 198.51.100.0/24 was found.')

        const removed = ok(
          await heroku(['spaces:trusted-ips:remove', '203.0.113.0/24', '--space', renamed]),
        )
        assert.ok(
          flat(removed.stdout).includes(
            `Removed 203.0.113.0/24 from trusted IP ranges on ${renamed}`,
          ),
          removed.stdout,
        )
        const after = await c.api('GET', `/spaces/${renamed}/inbound-ruleset`)
        assert.deepEqual(after.body.rules, [{ action: 'allow', source: '0.0.0.0/0' }])
        assert.equal(after.body.applied, true)
      })

      test('login -i trades email and password for a token the CLI then uses', async () => {
        const password = readFileSync(join(c.dataDir, 'admin-password'), 'utf8').trim()
        const home = join(c.home, 'login')
        const env = loginHome(home)
        const [refused, login] = await Promise.all([
          heroku(['login', '-i']),
          heroku(['login', '-i'], {
            env,
            answers: [
              { prompt: 'Email', answer: ADMIN_EMAIL },
              { prompt: 'Password', answer: password },
            ],
          }),
        ])
        fails(refused, 'Cannot log in with HEROKU_API_KEY set')
        assert.ok(flat(ok(login).stdout).includes(`Logged in as ${ADMIN_EMAIL}`), login.stdout)
        const netrc = readFileSync(join(home, '.netrc'), 'utf8')
        const token = /password (\S+)/.exec(netrc)?.[1]
        assert.ok(token && token !== c.apiKey, 'login stores a new API key in ~/.netrc')

        const whoami = ok(await heroku(['auth:whoami'], { env }))
        assert.equal(whoami.stdout.trim(), ADMIN_EMAIL)
      })
    })

    test('apps:create makes space apps (with and without internal routing) and a personal app', async () => {
      const [web, internal, personal] = await Promise.all([
        heroku(['apps:create', webApp, '--space', renamed]),
        heroku(['apps:create', internalApp, '--space', renamed, '--internal-routing']),
        heroku(['apps:create', personalApp]),
      ])
      const gitHost = new URL(c.apiUrl).host
      for (const [r, name] of [
        [web, webApp],
        [internal, internalApp],
        [personal, personalApp],
      ] as const) {
        assert.equal(
          ok(r).stdout.trim(),
          `http://${name}.localhost:${c.routerPort}/ | https://${gitHost}/${name}.git`,
        )
      }
      assert.ok(flat(web.stderr).includes(`Creating ${webApp} in space ${renamed}... done`))
      assert.ok(
        flat(internal.stderr).includes(`Creating ${internalApp} in space ${renamed}... done`),
      )
    })

    test('apps, apps --space and apps:info show where apps live', async () => {
      const [own, inSpace, webInfo, internalInfo] = await Promise.all([
        heroku(['apps']),
        heroku(['apps', '--space', renamed]),
        heroku(['apps:info', '-a', webApp]),
        heroku(['apps:info', '-a', internalApp]),
      ])
      // Without --team or --space, `apps` lists the caller's own apps outside teams.
      assert.deepEqual(lines(ok(own).stdout), [`=== ${ADMIN_EMAIL} Apps`, personalApp])
      assert.deepEqual(lines(ok(inSpace).stdout), [
        `=== Apps in space ${renamed}`,
        `${internalApp} [internal] (tokyo)`,
        `${webApp} (tokyo)`,
      ])

      const w = fields(ok(webInfo).stdout)
      assert.match(webInfo.stdout, new RegExp(`^=== ${webApp}$`, 'm'))
      assert.equal(w.Space, renamed)
      assert.equal(w['Internal Routing'], undefined)
      assert.equal(w.Region, 'tokyo')
      assert.equal(w.Owner, ADMIN_EMAIL)
      assert.equal(w.Stack, 'heroku-24')
      assert.equal(w['Web URL'], `http://${webApp}.localhost:${c.routerPort}/`)

      const i = fields(ok(internalInfo).stdout)
      assert.equal(i.Space, renamed)
      assert.equal(i['Internal Routing'], 'true')
      assert.equal(i.Region, 'tokyo')
    })

    // Config and releases on one app, formation and features on the other: side by side.
    describe('app config, releases, formation and features', { concurrency: true }, () => {
      test('config:set, config:unset, releases:rollback, releases and config', async () => {
        const set = ok(await heroku(['config:set', 'K=V', 'GREETING=hello', '-a', webApp]))
        assert.ok(
          flat(set.stderr).includes(`Setting K, GREETING and restarting ${webApp}... done, v2`),
          set.stderr,
        )
        assert.deepEqual(fields(set.stdout), { K: 'V', GREETING: 'hello' })

        const unset = ok(await heroku(['config:unset', 'GREETING', '-a', webApp]))
        assert.ok(
          flat(unset.stderr).includes(`Unsetting GREETING and restarting ${webApp}... done, v3`),
          unset.stderr,
        )
        assert.deepEqual((await c.api('GET', `/apps/${webApp}/config-vars`)).body, { K: 'V' })

        const rollback = ok(await heroku(['releases:rollback', 'v2', '-a', webApp]))
        assert.ok(
          flat(rollback.stderr).includes(`Rolling back ${webApp} to v2... done, v4`),
          rollback.stderr,
        )

        const [releases, config] = await Promise.all([
          heroku(['releases', '-a', webApp]),
          heroku(['config', '-a', webApp]),
        ])
        assert.match(ok(releases).stdout, new RegExp(`^=== ${webApp} Releases - Current: v4$`, 'm'))
        assert.deepEqual(
          tableRows(releases.stdout).map((row) => row.slice(0, 3)),
          [
            ['v4', 'Rollback to v2', ADMIN_EMAIL],
            ['v3', 'Remove GREETING config vars', ADMIN_EMAIL],
            ['v2', 'Set K, GREETING config vars', ADMIN_EMAIL],
            ['v1', 'Initial release', ADMIN_EMAIL],
          ],
        )
        // The rollback brought v2's config back.
        assert.match(ok(config).stdout, new RegExp(`^=== ${webApp} Config Vars$`, 'm'))
        assert.deepEqual(fields(config.stdout), { K: 'V', GREETING: 'hello' })
      })

      test('ps:scale, ps and ps:type manage the formation', async () => {
        const scaled = ok(await heroku(['ps:scale', 'web=2:Private-M', '-a', internalApp]))
        assert.ok(
          flat(scaled.stderr).includes('Scaling dynos... done, now running web at 2:Private-M'),
          scaled.stderr,
        )
        // ps:type takes the size in the user's casing and prints the formation after.
        const [ps, resized] = await Promise.all([
          heroku(['ps', '-a', internalApp]),
          heroku(['ps:type', 'web=private-l', '-a', internalApp]),
        ])
        // The runtime runs no dynos yet (host networking comes later), so ps lists none.
        assert.deepEqual(lines(ok(ps).stdout), [`No dynos on ${internalApp}`])
        assert.deepEqual(tableRows(ok(resized).stdout)[0], [
          'web',
          'Private-L',
          '2',
          '~$2.500',
          '$1800',
        ])
        const formation = await c.api('GET', `/apps/${internalApp}/formation/web`)
        assert.equal(formation.body.size, 'Private-L')
        assert.equal(formation.body.quantity, 2)
      })

      test('features:disable, features, features:info and features:enable', async () => {
        const app = ['-a', internalApp]
        // features:disable fails unless the feature is on: discovery is on by default.
        const disabled = ok(await heroku(['features:disable', 'spaces-dns-discovery', ...app]))
        assert.ok(
          flat(disabled.stderr).includes(
            `Disabling spaces-dns-discovery for ${internalApp}... done`,
          ),
        )
        const [off, info] = await Promise.all([
          heroku(['features', ...app]),
          heroku(['features:info', 'spaces-dns-discovery', ...app]),
        ])
        assert.deepEqual(lines(ok(off).stdout), [
          `=== App Features ${internalApp}`,
          '[ ] spaces-dns-discovery  Enable DNS service discovery',
        ])
        const f = fields(ok(info).stdout)
        assert.match(info.stdout, /^=== spaces-dns-discovery$/m)
        assert.equal(f.Description, 'Enable DNS service discovery')
        assert.equal(f.Enabled, 'false')

        const enabled = ok(await heroku(['features:enable', 'spaces-dns-discovery', ...app]))
        assert.ok(
          flat(enabled.stderr).includes(`Enabling spaces-dns-discovery for ${internalApp}... done`),
        )
        const [again, on] = await Promise.all([
          heroku(['features:enable', 'spaces-dns-discovery', ...app]),
          heroku(['features', ...app]),
        ])
        fails(again, 'spaces-dns-discovery is already enabled.')
        assert.equal(
          lines(ok(on).stdout)[1],
          '[+] spaces-dns-discovery  Enable DNS service discovery',
        )
      })
    })

    test('spaces:topology and spaces:ps show the space apps', async () => {
      const [topology, ps, psJson] = await Promise.all([
        heroku(['spaces:topology', '--space', renamed]),
        heroku(['spaces:ps', '--space', renamed]),
        heroku(['spaces:ps', '--space', renamed, '--json']),
      ])
      // One block per app: the process types come from the formation, the domain from --domain.
      const blocks = ok(topology)
        .stdout.split(/^(?==== )/m)
        .map((b) => lines(b))
        .filter((b) => b.length > 0)
        .sort((a, b) => a[0]!.localeCompare(b[0]!))
      assert.deepEqual(blocks, [
        [`=== ${internalApp} (web)`, `Domains: ${internalApp}.localhost`],
        [`=== ${webApp}`, `Domains: ${webApp}.localhost`],
      ])
      assert.equal(ok(ps).stdout.trim(), '') // no dynos run yet
      const byApp = (JSON.parse(ok(psJson).stdout) as Array<{ app_name: string; dynos: unknown[] }>)
        .map((a) => [a.app_name, a.dynos.length])
        .sort()
      assert.deepEqual(byApp, [
        [internalApp, 0],
        [webApp, 0],
      ])
    })

    test('spaces:destroy refuses while apps exist, then destroys the emptied space', async () => {
      fails(
        await heroku(['spaces:destroy', renamed, '--confirm', renamed]),
        'Space must not contain any apps',
      )

      const apps = [webApp, internalApp, personalApp]
      const destroyed = await Promise.all(
        apps.map((name) => heroku(['apps:destroy', name, '--confirm', name])),
      )
      apps.forEach((name, k) => {
        assert.ok(flat(ok(destroyed[k]!).stderr).includes(`Destroying ${name}`))
      })
      assert.equal((await c.api('GET', `/apps/${webApp}`)).status, 404)

      const r = ok(await heroku(['spaces:destroy', renamed, '--confirm', renamed]))
      assert.ok(flat(r.stderr).includes(`Destroying space ${renamed}... done`), r.stderr)
      // Gone once its bridges and firewall entries are removed from the host.
      await waitUntil(
        'the destroyed space to disappear',
        async () => (await c.api('GET', `/spaces/${renamed}`)).status === 404,
      )
      assert.deepEqual((await c.api('GET', '/spaces')).body, [])
    })

    test('every JSON body the API returned matches Heroku schema', (t) => {
      assert.ok(c.proxy.exchanges.length > 50, 'the proxy saw the CLI traffic')
      const missing = c.proxy.exchanges.filter(
        (x) => x.status === 404 && !/^\/(spaces|apps)\/[^/]+$/.test(x.path.split('?')[0]!),
      )
      t.diagnostic(`${c.proxy.exchanges.length} API calls`)
      t.diagnostic(
        `not in Heroku's schema: ${[...c.proxy.undescribed].sort().join(', ') || 'none'}`,
      )
      t.diagnostic(`404s: ${missing.map((x) => `${x.method} ${x.path}`).join(', ') || 'none'}`)
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
