import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { AddressPolicy } from '../core/address-policy.js'
import { PlatformError } from '../core/errors.js'
import { newId } from '../core/ids.js'
import type { Team } from '../core/types.js'
import { assertRefused, startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createApp } from './apps.js'
import { createTeam } from './teams.js'
import { createAttachment, detachAttachment } from './attachments.js'
import {
  createSpace,
  destroySpace,
  MAX_TRUSTED_RANGES,
  renameSpace,
  setInboundRuleset,
  type SpaceHostFacts,
} from './spaces.js'

const host: SpaceHostFacts = {
  reservedCidrs: ['10.0.0.0/16'],
  egressPools: [],
  egressPerSpace: 4,
  addressPolicy: new AddressPolicy(),
}

const unique = (prefix: string) => `${prefix}-${newId().slice(0, 8)}`

describe('platform spaces', () => {
  let p: TestPlatform
  let team: Team
  beforeEach(() => {
    p = startTestPlatform()
    team = createTeam(p.store, p.user, unique('team'))
  })
  afterEach(() => p.close())

  test("a space gets free networks and Heroku's default ruleset, then both events", () => {
    const space = createSpace(p.ctx, p.user, { name: unique('sp'), team }, host)
    assert.deepEqual([space.state, space.region, space.teamId], ['allocating', 'virginia', team.id])
    assert.notEqual(space.cidr, '10.0.0.0/16', 'a reserved network is skipped')
    const ruleset = p.store.spaces.currentRuleset(space.id)!
    assert.deepEqual(ruleset.rules, [{ action: 'allow', source: '0.0.0.0/0' }])
    assert.equal(ruleset.createdBy, p.user.email)
    assert.deepEqual(p.emitted, [
      { event: 'space.changed', id: space.id, inTransaction: false },
      { event: 'ruleset.changed', id: space.id, inTransaction: false },
    ])
    const second = createSpace(p.ctx, p.user, { name: unique('sp'), team }, host)
    assert.notEqual(second.cidr, space.cidr)
  })

  test('a refused space leaves nothing behind: no space, no ruleset, no event', () => {
    const taken = createSpace(p.ctx, p.user, { name: unique('sp'), team }, host)
    p.emitted.length = 0
    const wanted = { name: unique('sp'), team }
    assertRefused(
      () => createSpace(p.ctx, p.user, { ...wanted, region: 'us' }, host),
      /not available/,
    )
    assertRefused(
      () => createSpace(p.ctx, p.user, { ...wanted, generation: 'x' }, host),
      /cedar or fir/,
    )
    assertRefused(
      () => createSpace(p.ctx, p.user, { ...wanted, name: taken.name }, host),
      /already taken/,
    )
    assertRefused(
      () => createSpace(p.ctx, p.user, { ...wanted, logDrainUrl: 'https://127.0.0.1/' }, host),
      /public address/,
    )
    assert.deepEqual(
      p.store.spaces.all().map((s) => s.id),
      [taken.id],
    )
    assert.deepEqual(p.emitted, [])
  })

  test('trusted IP ranges: a new version after the commit; a bad list changes nothing', () => {
    const space = createSpace(p.ctx, p.user, { name: unique('sp'), team }, host)
    p.emitted.length = 0
    const rules = [{ action: 'deny' as const, source: '203.0.113.0/24' }]
    const ruleset = setInboundRuleset(p.ctx, space, p.user, rules)
    assert.deepEqual([ruleset.version, ruleset.rules], [2, rules])
    assertRefused(
      () => setInboundRuleset(p.ctx, space, p.user, [{ action: 'allow', source: 'nope' }]),
      /valid IPv4 CIDR/,
    )
    const many = Array.from({ length: MAX_TRUSTED_RANGES + 1 }, () => rules[0]!)
    assertRefused(() => setInboundRuleset(p.ctx, space, p.user, many), /Maximum/)
    assert.equal(p.store.spaces.currentRuleset(space.id)?.version, 2)
    assert.deepEqual(p.emitted, [{ event: 'ruleset.changed', id: space.id, inTransaction: false }])
  })

  test('rename checks the name; a space with apps is not destroyed; an empty one is', () => {
    const space = createSpace(p.ctx, p.user, { name: unique('sp'), team }, host)
    const other = createSpace(p.ctx, p.user, { name: unique('sp'), team }, host)
    assertRefused(() => renameSpace(p.ctx, space, other.name), /already taken/)
    const newName = unique('renamed')
    assert.equal(renameSpace(p.ctx, space, newName).name, newName)
    const app = createApp(p.ctx, p.user, { space, team })
    p.emitted.length = 0
    assertRefused(() => destroySpace(p.ctx, space), /must not contain any apps/)
    assert.deepEqual(p.emitted, [])
    p.store.apps.delete(app.id)
    assert.equal(destroySpace(p.ctx, space).state, 'deleting')
    assert.deepEqual(p.emitted, [{ event: 'space.changed', id: space.id, inTransaction: false }])
  })

  test('an attachment takes an address, then network.changed; none in a deleting space', () => {
    const space = createSpace(p.ctx, p.user, { name: unique('sp'), team }, host)
    p.emitted.length = 0
    const a = createAttachment(p.ctx, space, 'dyno', 'manual:test')
    assert.equal(p.store.network.attachment(a.id)?.address, a.address)
    assert.equal(detachAttachment(p.ctx, a).state, 'detaching')
    const changed = { event: 'network.changed', id: space.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed])
    destroySpace(p.ctx, space)
    assert.throws(
      () => createAttachment(p.ctx, space, 'dyno', 'manual:test'),
      (e: unknown) => e instanceof PlatformError && e.statusCode === 404,
    )
  })
})
