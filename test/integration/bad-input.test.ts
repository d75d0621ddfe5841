/**
 * Every bad request in one table: each is refused with the right status and error id, and
 * leaves the store exactly as it was.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Store } from '../../src/store/store.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

type Who = 'admin' | 'member' | 'outsider' | 'nobody' | 'bogus'

interface Case {
  /** What the request does, as the start of the test's sentence. */
  does: string
  method: string
  path: string
  body?: unknown
  raw?: string
  as?: Who
  headers?: Record<string, string>
  status: number
  id: string
  /** The store state this request could have touched. */
  snapshot: (store: Store) => unknown
}

const byId = <T extends { id: string }>(list: T[]) =>
  [...list].sort((a, b) => (a.id < b.id ? -1 : 1))

const snap = {
  spaces: (s: Store) =>
    byId(s.spaces.all()).map((sp) => ({
      ...sp,
      rulesets: byId(s.spaces.rulesets(sp.id)),
      drain: s.spaces.logDrain(sp.id) ?? null,
    })),
  apps: (s: Store) => byId(s.apps.all()).map((a) => ({ ...a, features: s.apps.features(a.id) })),
  releases: (s: Store) =>
    byId(s.apps.all()).map((a) => ({
      app: a.id,
      releases: byId(s.releases.list(a.id)),
      formation: s.releases.formation(a.id),
    })),
  teams: (s: Store) =>
    byId(s.teams.all()).map((t) => ({
      ...t,
      members: s.teams
        .members(t.id)
        .map((m) => [m.account.email, m.role])
        .sort(),
    })),
  accounts: (s: Store) => ({
    accounts: s.db.prepare('SELECT * FROM accounts ORDER BY id').all(),
    authorizations: s.db.prepare('SELECT * FROM authorizations ORDER BY id').all(),
  }),
}

/** Every row of every table: a refused request must not have written anything at all. */
function everything(store: Store): Record<string, unknown[]> {
  const tables = store.db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .pluck()
    .all() as string[]
  return Object.fromEntries(
    tables.map((t) => [t, store.db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all()]),
  )
}

const UNKNOWN = '00000000-0000-4000-8000-000000000000'
const MIB = 1024 * 1024
const rules = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ action: 'allow', source: `198.51.${i}.0/24` }))
const space = (extra: Record<string, unknown>) => ({ name: 'new-space', team: 'acme', ...extra })
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

const CASES: Case[] = [
  // Malformed JSON.
  {
    does: 'creating a space with malformed json',
    method: 'POST',
    path: '/spaces',
    raw: '{"name": "x",',
    status: 400,
    id: 'bad_request',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a team with a body that is not json',
    method: 'POST',
    path: '/teams',
    raw: 'name=acme',
    status: 400,
    id: 'bad_request',
    snapshot: snap.teams,
  },
  {
    does: 'setting config vars with unquoted json keys',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    raw: '{A: "1"}',
    status: 400,
    id: 'bad_request',
    snapshot: snap.releases,
  },
  {
    does: 'putting trusted ip ranges with truncated json',
    method: 'PUT',
    path: '/spaces/prod/inbound-ruleset',
    raw: '{"rules": [',
    status: 400,
    id: 'bad_request',
    snapshot: snap.spaces,
  },
  {
    does: 'scaling with malformed json',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    raw: '{"updates": [{"type": "web", "quantity": }]}',
    status: 400,
    id: 'bad_request',
    snapshot: snap.releases,
  },

  // Wrong types are errors, never coerced.
  {
    does: 'creating a team with a numeric name',
    method: 'POST',
    path: '/teams',
    body: { name: 42 },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  },
  {
    does: 'creating a team without a name',
    method: 'POST',
    path: '/teams',
    body: {},
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  },
  {
    does: 'creating a space with a numeric name',
    method: 'POST',
    path: '/spaces',
    body: { name: 42, team: 'acme' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a space with shield "yes"',
    method: 'POST',
    path: '/spaces',
    body: space({ shield: 'yes' }),
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a space with shield 1',
    method: 'POST',
    path: '/spaces',
    body: space({ shield: 1 }),
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a space with a numeric cidr',
    method: 'POST',
    path: '/spaces',
    body: space({ cidr: 10 }),
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a space with features as a string',
    method: 'POST',
    path: '/spaces',
    body: space({ features: 'a,b' }),
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a space without a team',
    method: 'POST',
    path: '/spaces',
    body: { name: 'new-space' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'renaming a space to a number',
    method: 'PATCH',
    path: '/spaces/prod',
    body: { name: 42 },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'creating an app with a numeric name',
    method: 'POST',
    path: '/apps',
    body: { name: 42 },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'creating an app with internal_routing "true"',
    method: 'POST',
    path: '/teams/apps',
    body: { name: 'typed-app', space: 'prod', internal_routing: 'true' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'setting maintenance to "yes"',
    method: 'PATCH',
    path: '/apps/web-app',
    body: { maintenance: 'yes' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'renaming an app to null',
    method: 'PATCH',
    path: '/apps/web-app',
    body: { name: null },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'setting an unknown build stack',
    method: 'PATCH',
    path: '/apps/web-app',
    body: { build_stack: 'cedar-14' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'scaling with quantity true',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: [{ type: 'web', quantity: true }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'scaling with a fractional quantity',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: [{ type: 'web', quantity: 2.5 }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'scaling with updates that are not a list',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: { type: 'web', quantity: 2 } },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'scaling with an empty update list',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: [] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'scaling an update without a type',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: [{ quantity: 2 }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'resizing one process type with a numeric size',
    method: 'PATCH',
    path: '/apps/web-app/formation/web',
    body: { size: 3 },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'setting a numeric config var value',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    body: { B: 2 },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'setting config vars with a list',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    body: ['B=2'],
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'setting config vars with json null',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    raw: 'null',
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'setting a config var with an invalid name',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    body: { 'NOT-VALID': 'x' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'setting a config var whose value has a NUL byte',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    body: { OK: 'fine', BAD: 'before\u0000after' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'setting a config var whose name has a NUL byte',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    body: { 'A\u0000B': 'x' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'setting config vars over 32 kB in total',
    method: 'PATCH',
    path: '/apps/web-app/config-vars',
    body: { BIG: 'x'.repeat(33 * 1024) },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'enabling a feature with "yes"',
    method: 'PATCH',
    path: '/apps/web-app/features/spaces-dns-discovery',
    body: { enabled: 'yes' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'rolling back to release true',
    method: 'POST',
    path: '/apps/web-app/releases',
    body: { release: true },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'rolling back with a description over 500 characters',
    method: 'POST',
    path: '/apps/web-app/releases',
    body: { release: '1', description: 'x'.repeat(501) },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'putting trusted ip ranges as a string',
    method: 'PUT',
    path: '/spaces/prod/inbound-ruleset',
    body: { rules: '0.0.0.0/0' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'putting a trusted ip range with action permit',
    method: 'PUT',
    path: '/spaces/prod/inbound-ruleset',
    body: { rules: [{ action: 'permit', source: '1.2.3.4/32' }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'putting a trusted ip range without a source',
    method: 'PUT',
    path: '/spaces/prod/inbound-ruleset',
    body: { rules: [{ action: 'allow' }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'putting an inbound ruleset without rules',
    method: 'PUT',
    path: '/spaces/prod/inbound-ruleset',
    body: { default_action: 'allow' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'putting a numeric log drain url',
    method: 'PUT',
    path: '/spaces/prod/log-drain',
    body: { url: 42 },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'adding a member with a numeric email',
    method: 'PUT',
    path: '/teams/acme/members',
    body: { email: 42 },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  },
  {
    does: 'adding a member with role owner',
    method: 'PUT',
    path: '/teams/acme/members',
    body: { email: 'outsider@example.com', role: 'owner' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  },
  {
    does: 'creating an account with admin "yes"',
    method: 'POST',
    path: '/localspace/accounts',
    body: { email: 'typed@example.com', admin: 'yes' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.accounts,
  },
  {
    does: 'creating an account with a short password',
    method: 'POST',
    path: '/localspace/accounts',
    body: { email: 'short@example.com', password: 'short' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.accounts,
  },
  {
    does: 'creating an account with an invalid email',
    method: 'POST',
    path: '/localspace/accounts',
    body: { email: 'not-an-email' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.accounts,
  },
  {
    does: 'creating an account with a taken email',
    method: 'POST',
    path: '/localspace/accounts',
    body: { email: 'member@example.com' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.accounts,
  },
  {
    does: 'logging in with expires_in "soon"',
    method: 'POST',
    path: '/oauth/authorizations',
    body: { expires_in: 'soon' },
    as: 'nobody',
    headers: { authorization: basic('admin@localspace.localhost', 'admin-password') },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.accounts,
  },

  // Unknown ids.
  ...(
    [
      ['GET', '/spaces/nope'],
      ['GET', `/spaces/${UNKNOWN}`],
      ['PATCH', '/spaces/nope', { name: 'whatever' }],
      ['DELETE', '/spaces/nope'],
      ['GET', '/spaces/nope/inbound-ruleset'],
      ['PUT', '/spaces/nope/inbound-ruleset', { rules: [] }],
      ['GET', '/spaces/nope/inbound-rulesets'],
      ['GET', `/spaces/prod/inbound-rulesets/${UNKNOWN}`],
      ['GET', '/spaces/nope/nat'],
      ['GET', '/spaces/nope/topology'],
      ['GET', '/spaces/nope/dynos'],
      ['GET', '/spaces/nope/hosts'],
      ['GET', '/spaces/nope/log-drain'],
      ['PUT', '/spaces/nope/log-drain', { url: 'https://logs.example.com/' }],
      ['GET', '/apps/nope'],
      ['GET', `/apps/${UNKNOWN}`],
      ['GET', '/teams/apps/nope'],
      ['PATCH', '/apps/nope', { maintenance: true }],
      ['DELETE', '/apps/nope'],
      ['GET', '/apps/nope/config-vars'],
      ['PATCH', '/apps/nope/config-vars', { A: '1' }],
      ['GET', '/apps/nope/releases'],
      ['GET', '/apps/web-app/releases/99'],
      ['GET', `/apps/web-app/releases/${UNKNOWN}`],
      ['POST', '/apps/nope/releases', { release: '1' }],
      ['POST', '/apps/web-app/releases', { release: '99' }],
      ['GET', '/apps/nope/formation'],
      ['GET', '/apps/web-app/formation/clock'],
      ['PATCH', '/apps/nope/formation', { updates: [{ type: 'web', quantity: 1 }] }],
      ['GET', '/apps/nope/dynos'],
      ['GET', '/apps/web-app/dynos/web.9'],
      ['DELETE', '/apps/nope/dynos'],
      ['POST', '/apps/nope/formations/web/actions/stop'],
      ['GET', '/apps/nope/features'],
      ['GET', '/apps/web-app/features/preboot'],
      ['PATCH', '/apps/web-app/features/preboot', { enabled: true }],
      ['GET', '/teams/nope'],
      ['GET', '/teams/nope/members'],
      ['PUT', '/teams/nope/members', { email: 'member@example.com' }],
      ['PUT', '/teams/acme/members', { email: 'ghost@example.com' }],
      ['DELETE', '/teams/acme/members/ghost@example.com'],
      ['DELETE', '/teams/acme/members/outsider@example.com'],
      ['GET', '/teams/nope/apps'],
      ['GET', '/teams/nope/spaces'],
      ['GET', '/regions/atlantis'],
      ['GET', `/oauth/authorizations/${UNKNOWN}`],
      ['DELETE', `/oauth/authorizations/${UNKNOWN}`],
      ['POST', '/spaces', space({ team: 'nope' })],
      ['POST', '/teams/apps', { name: 'lost-app', space: 'nope' }],
      ['POST', '/teams/apps', { name: 'lost-app', team: 'nope' }],
      ['GET', '/apps/nope/domains'],
      ['POST', '/apps/nope/domains', { hostname: 'www.example.com', sni_endpoint: null }],
      ['GET', '/apps/web-app/domains/nowhere.example.com'],
      ['PATCH', '/apps/web-app/domains/nowhere.example.com', { sni_endpoint: null }],
      ['DELETE', '/apps/web-app/domains/nowhere.example.com'],
      ['POST', '/apps/web-app/domains', { hostname: 'x.example.com', sni_endpoint: 'nope' }],
      ['GET', '/apps/nope/sni-endpoints'],
      ['GET', '/apps/web-app/sni-endpoints/nope'],
      ['DELETE', '/apps/web-app/sni-endpoints/nope'],
      ['GET', '/no/such/route'],
    ] as Array<[string, string, unknown?]>
  ).map(([method, path, body]): Case => ({
    does: `${method} ${path} of something that does not exist`,
    method,
    path,
    body,
    status: 404,
    id: 'not_found',
    snapshot: everything,
  })),

  // Custom domains and certificates.
  ...(
    [
      ['a hostname that is a number', { hostname: 42 }],
      ['no hostname', { sni_endpoint: null }],
      ['an sni_endpoint that is a number', { hostname: 'a.example.com', sni_endpoint: 7 }],
      ['a hostname with a space', { hostname: 'www example.com' }],
      ['a hostname with one label', { hostname: 'intranet' }],
      ['an IP address as hostname', { hostname: '203.0.113.9' }],
      ['a hostname under the installation domain', { hostname: 'shop.localhost' }],
      ['a hostname another app has verified', { hostname: 'taken.example.com' }],
      ['a hostname the app has already', { hostname: 'mine.example.com' }],
    ] as Array<[string, unknown]>
  ).map(([what, body]): Case => ({
    does: `adding a domain with ${what}`,
    method: 'POST',
    path: '/apps/web-app/domains',
    body,
    status: 422,
    id: 'invalid_params',
    snapshot: everything,
  })),
  {
    does: 'removing the default domain',
    method: 'DELETE',
    path: '/apps/web-app/domains/web-app.localhost',
    status: 422,
    id: 'invalid_params',
    snapshot: everything,
  },
  ...(
    [
      ['no private key', { certificate_chain: 'x' }],
      ['a chain that is not PEM', { certificate_chain: 'x', private_key: 'y' }],
      ['a chain that is a number', { certificate_chain: 1, private_key: 'y' }],
    ] as Array<[string, unknown]>
  ).map(([what, body]): Case => ({
    does: `adding a certificate with ${what}`,
    method: 'POST',
    path: '/apps/web-app/sni-endpoints',
    body,
    status: 422,
    id: 'invalid_params',
    snapshot: everything,
  })),

  // Names.
  {
    does: 'creating an app with a taken name',
    method: 'POST',
    path: '/apps',
    body: { name: 'web-app' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  ...['Web_App', 'ab', '9lives', 'trailing-', 'x'.repeat(31)].map((name): Case => ({
    does: `creating an app named ${JSON.stringify(name)}`,
    method: 'POST',
    path: '/apps',
    body: { name },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  })),
  {
    does: 'renaming an app to a taken name',
    method: 'PATCH',
    path: '/apps/plain-app',
    body: { name: 'web-app' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'creating a space with a taken name',
    method: 'POST',
    path: '/spaces',
    body: space({ name: 'prod' }),
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  ...['Prod', 'a--b', '-lead', 'x', 'x'.repeat(31), 'with space'].map((name): Case => ({
    does: `creating a space named ${JSON.stringify(name)}`,
    method: 'POST',
    path: '/spaces',
    body: space({ name }),
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  })),
  {
    does: 'renaming a space to a taken name',
    method: 'PATCH',
    path: '/spaces/custom',
    body: { name: 'prod' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'renaming a space to an invalid name',
    method: 'PATCH',
    path: '/spaces/custom',
    body: { name: 'Not Valid' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a team with a taken name',
    method: 'POST',
    path: '/teams',
    body: { name: 'acme' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  },
  ...['ACME', 'a', '1team', 'team_x', 't'.repeat(31)].map((name): Case => ({
    does: `creating a team named ${JSON.stringify(name)}`,
    method: 'POST',
    path: '/teams',
    body: { name },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  })),

  // Space networks, regions and generations.
  ...(
    [
      ['a cidr equal to another space’s', { cidr: '10.0.0.0/16' }],
      ['a cidr on another space’s data cidr', { cidr: '10.1.0.0/16' }],
      ['a cidr overlapping another space’s data cidr', { cidr: '172.16.0.0/16' }],
      [
        'a data cidr inside another space’s cidr',
        { cidr: '10.70.0.0/16', data_cidr: '10.0.16.0/20' },
      ],
      ['a /8 cidr', { cidr: '10.0.0.0/8' }],
      ['a /24 cidr', { cidr: '10.50.0.0/24' }],
      ['a /17 cidr', { cidr: '10.50.0.0/17' }],
      ['the docker cidr 172.17.0.0/16', { cidr: '172.17.0.0/16' }],
      ['a data cidr in 172.17.0.0/16', { cidr: '10.70.0.0/16', data_cidr: '172.17.16.0/20' }],
      ['a public cidr', { cidr: '8.8.0.0/16' }],
      ['a cidr in 100.64.0.0/10', { cidr: '100.64.0.0/16' }],
      ['a cidr with host bits', { cidr: '10.50.0.1/16' }],
      ['a cidr that is not one', { cidr: 'banana' }],
      ['an ipv6 cidr', { cidr: 'fd00::/16' }],
      ['a /24 data cidr', { data_cidr: '10.60.0.0/24' }],
      ['a /12 data cidr', { cidr: '10.70.0.0/16', data_cidr: '172.16.0.0/12' }],
      ['a public data cidr', { data_cidr: '8.8.0.0/20' }],
      ['a data cidr overlapping its cidr', { cidr: '10.60.0.0/16', data_cidr: '10.60.16.0/20' }],
      ['a common runtime region', { region: 'us' }],
      ['an unknown region', { region: 'atlantis' }],
      ['an unknown generation', { generation: 'aspen' }],
      ['shield on the fir generation', { shield: true, generation: 'fir' }],
      ['an http log drain url', { log_drain_url: 'http://logs.example.com/' }],
    ] as Array<[string, Record<string, unknown>]>
  ).map(([what, extra]): Case => ({
    does: `creating a space with ${what}`,
    method: 'POST',
    path: '/spaces',
    body: space(extra),
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  })),
  {
    does: 'destroying a space that still has apps',
    method: 'DELETE',
    path: '/spaces/prod',
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },

  // Trusted IP ranges.
  {
    does: 'putting 21 trusted ip ranges',
    method: 'PUT',
    path: '/spaces/prod/inbound-ruleset',
    body: { rules: rules(21) },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },
  ...['anywhere', '1.2.3.4', '1.2.3.4/33', '300.1.2.3/32', '::/0', '1.2.3/24', 42].map(
    (source): Case => ({
      does: `putting a trusted ip range with source ${JSON.stringify(source)}`,
      method: 'PUT',
      path: '/spaces/prod/inbound-ruleset',
      body: {
        rules: [
          { action: 'allow', source: '0.0.0.0/0' },
          { action: 'allow', source },
        ],
      },
      status: 422,
      id: 'invalid_params',
      snapshot: snap.spaces,
    }),
  ),
  {
    does: 'putting a log drain with an http url',
    method: 'PUT',
    path: '/spaces/prod/log-drain',
    body: { url: 'http://logs.example.com/' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.spaces,
  },

  // Apps and spaces.
  {
    does: 'creating an internal routing app without a space',
    method: 'POST',
    path: '/apps',
    body: { name: 'internal-app', internal_routing: true },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'creating an internal routing team app without a space',
    method: 'POST',
    path: '/teams/apps',
    body: { name: 'internal-app', team: 'acme', internal_routing: true },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'creating an app in a space with another region',
    method: 'POST',
    path: '/teams/apps',
    body: { name: 'far-app', space: 'prod', region: 'dublin' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'creating an app in an unknown region',
    method: 'POST',
    path: '/apps',
    body: { name: 'far-app', region: 'atlantis' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.apps,
  },
  {
    does: 'scaling an app in a space to a common runtime size',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: [{ type: 'web', size: 'Standard-1X' }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'scaling an app outside a space to a private size',
    method: 'PATCH',
    path: '/apps/plain-app/formation',
    body: { updates: [{ type: 'web', quantity: 1, size: 'Private-M' }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'scaling below zero',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: [{ type: 'web', quantity: '-2' }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'scaling above 100',
    method: 'PATCH',
    path: '/apps/web-app/formation',
    body: { updates: [{ type: 'web', quantity: '101' }] },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.releases,
  },
  {
    does: 'demoting the last admin',
    method: 'PUT',
    path: '/teams/solo/members',
    body: { email: 'admin@localspace.localhost', role: 'member' },
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  },
  {
    does: 'removing the last admin',
    method: 'DELETE',
    path: '/teams/solo/members/admin@localspace.localhost',
    status: 422,
    id: 'invalid_params',
    snapshot: snap.teams,
  },

  // Non-admin mutations.
  ...(
    [
      ['POST', '/spaces', space({}), snap.spaces],
      ['PATCH', '/spaces/prod', { name: 'mine-now' }, snap.spaces],
      ['DELETE', '/spaces/custom', undefined, snap.spaces],
      ['PUT', '/spaces/prod/inbound-ruleset', { rules: [] }, snap.spaces],
      ['PUT', '/spaces/prod/log-drain', { url: 'https://logs.example.com/' }, snap.spaces],
      ['PUT', '/teams/acme/members', { email: 'outsider@example.com' }, snap.teams],
      ['PATCH', '/teams/acme/members', { email: 'member@example.com', role: 'admin' }, snap.teams],
      ['DELETE', '/teams/acme/members/admin@localspace.localhost', undefined, snap.teams],
      ['DELETE', '/apps/web-app', undefined, snap.apps],
      ['POST', '/localspace/accounts', { email: 'made@example.com' }, snap.accounts],
    ] as Array<[string, string, unknown, (s: Store) => unknown]>
  ).map(([method, path, body, snapshot]): Case => ({
    does: `${method} ${path} by a plain team member`,
    method,
    path,
    body,
    as: 'member',
    status: 403,
    id: 'forbidden',
    snapshot,
  })),

  // Callers outside the team do not learn that the resources exist.
  ...(
    [
      ['GET', '/spaces/prod'],
      ['PATCH', '/spaces/prod', { name: 'mine-now' }],
      ['PUT', '/spaces/prod/inbound-ruleset', { rules: [] }],
      ['PATCH', '/apps/web-app', { maintenance: true }],
      ['PATCH', '/apps/web-app/config-vars', { A: '2' }],
      ['PATCH', '/apps/web-app/formation', { updates: [{ type: 'web', quantity: 0 }] }],
      ['POST', '/teams/apps', { name: 'intruder', space: 'prod' }],
      ['POST', '/spaces', space({})],
    ] as Array<[string, string, unknown?]>
  ).map(([method, path, body]): Case => ({
    does: `${method} ${path} by someone outside the team`,
    method,
    path,
    body,
    as: 'outsider',
    status: 404,
    id: 'not_found',
    snapshot: everything,
  })),

  // Authentication.
  ...(
    [
      ['nobody', 'GET', '/account', undefined],
      ['nobody', 'POST', '/spaces', space({})],
      ['nobody', 'PATCH', '/apps/web-app/config-vars', { A: '2' }],
      ['nobody', 'POST', '/teams', { name: 42 }],
      ['bogus', 'DELETE', '/apps/web-app', undefined],
      ['bogus', 'PUT', '/spaces/prod/inbound-ruleset', { rules: [] }],
      ['bogus', 'POST', '/localspace/accounts', { email: 'made@example.com' }],
    ] as Array<[Who, string, string, unknown]>
  ).map(([as, method, path, body]): Case => ({
    does: `${method} ${path} with ${as === 'nobody' ? 'no' : 'an unknown'} token`,
    method,
    path,
    body,
    as,
    status: 401,
    id: 'unauthorized',
    snapshot: everything,
  })),
  {
    does: 'sending malformed json with no token',
    method: 'POST',
    path: '/spaces',
    raw: '{"name":',
    as: 'nobody',
    status: 401,
    id: 'unauthorized',
    snapshot: snap.spaces,
  },
  {
    does: 'using basic auth with a wrong api key',
    method: 'GET',
    path: '/apps/web-app',
    as: 'nobody',
    headers: { authorization: basic('', 'HRKU-wrong') },
    status: 401,
    id: 'unauthorized',
    snapshot: everything,
  },
  {
    does: 'logging in with a wrong password',
    method: 'POST',
    path: '/oauth/authorizations',
    body: { description: 'login' },
    as: 'nobody',
    headers: { authorization: basic('admin@localspace.localhost', 'nope') },
    status: 401,
    id: 'unauthorized',
    snapshot: snap.accounts,
  },

  // Conventions.
  ...(
    [
      ['POST', '/spaces', space({ pad: 'x'.repeat(MIB) }), snap.spaces],
      ['PATCH', '/apps/web-app/config-vars', { BIG: 'x'.repeat(MIB) }, snap.releases],
      ['PUT', '/spaces/prod/inbound-ruleset', { rules: [], pad: 'x'.repeat(MIB) }, snap.spaces],
    ] as Array<[string, string, unknown, (s: Store) => unknown]>
  ).map(([method, path, body, snapshot]): Case => ({
    does: `${method} ${path} with a body over 1 MiB`,
    method,
    path,
    body,
    status: 413,
    id: 'payload_too_large',
    snapshot,
  })),
  ...(
    [
      ['/apps', 'garbage'],
      ['/spaces', 'name ..; max=lots'],
      ['/teams/acme/members', 'name ..; max=2'],
      ['/apps/web-app/releases', 'version ..; order=random'],
      ['/spaces/prod/inbound-rulesets', 'id'],
    ] as Array<[string, string]>
  ).map(([path, range]): Case => ({
    does: `listing ${path} with range ${JSON.stringify(range)}`,
    method: 'GET',
    path,
    headers: { range },
    status: 416,
    id: 'requested_range_not_satisfiable',
    snapshot: everything,
  })),
  {
    does: 'creating a space with accept version 2',
    method: 'POST',
    path: '/spaces',
    body: space({}),
    headers: { accept: 'application/vnd.heroku+json; version=2' },
    status: 406,
    id: 'not_acceptable',
    snapshot: snap.spaces,
  },
  {
    does: 'creating a team with a form body',
    method: 'POST',
    path: '/teams',
    raw: 'name=formed',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    id: 'unsupported_media_type',
    snapshot: snap.teams,
  },
]

describe('bad input', () => {
  let api: TestApi
  const keys: Partial<Record<Who, string | null>> = { nobody: null, bogus: 'HRKU-bogus' }
  before(async () => {
    api = await startTestApi()
    keys.admin = api.adminKey
    keys.member = api.user('member@example.com')
    keys.outsider = api.user('outsider@example.com')
    const ok = async (method: string, path: string, body?: unknown) => {
      const res = await api.call(method, path, body)
      assert.ok(res.status < 300, `${method} ${path}: ${JSON.stringify(res.body)}`)
    }
    await ok('POST', '/teams', { name: 'acme' })
    await ok('POST', '/teams', { name: 'solo' })
    await ok('PUT', '/teams/acme/members', { email: 'member@example.com', role: 'member' })
    await ok('POST', '/spaces', { name: 'prod', team: 'acme', region: 'tokyo' })
    await ok('POST', '/spaces', { name: 'custom', team: 'acme', cidr: '172.20.0.0/16' })
    await ok('POST', '/teams/apps', { name: 'web-app', space: 'prod' })
    await ok('POST', '/apps', { name: 'plain-app' })
    await ok('PATCH', '/apps/web-app/config-vars', { A: '1' })
    await ok('PATCH', '/apps/web-app/formation', { updates: [{ type: 'web', quantity: 1 }] })
    await ok('PUT', '/spaces/prod/log-drain', { url: 'https://logs.example.com/' })
    await ok('POST', '/apps/plain-app/domains', { hostname: 'taken.example.com' })
    // As the daemon's verifier does once the TXT record is found.
    const [taken] = api.store.domains.claims('taken.example.com')
    assert.ok(api.store.domains.markVerified(taken!.id, new Date().toISOString()))
    await ok('POST', '/apps/web-app/domains', { hostname: 'mine.example.com' })
    assert.equal(api.store.spaces.find('custom')?.dataCidr, '172.16.0.0/20')
  })
  after(() => api.close())

  for (const c of CASES) {
    test(`${c.does} is refused with ${c.status} ${c.id}`, async () => {
      const before = JSON.stringify(c.snapshot(api.store))
      const all = everything(api.store)
      const res = await api.call(c.method, c.path, c.body, {
        key: keys[c.as ?? 'admin'] ?? null,
        ...(c.raw !== undefined && { raw: c.raw }),
        ...(c.headers && { headers: c.headers }),
      })
      assert.equal(res.status, c.status, JSON.stringify(res.body))
      assert.equal(res.body.id, c.id)
      assert.equal(JSON.stringify(c.snapshot(api.store)), before, 'the store changed')
      assert.deepEqual(everything(api.store), all, 'some table changed')
    })
  }
})
