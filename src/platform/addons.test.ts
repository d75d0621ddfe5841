import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { newId } from '../core/ids.js'
import type { App, Space } from '../core/types.js'
import {
  assertRefused,
  makeSpace,
  startTestPlatform,
  type TestPlatform,
} from '../../test/helpers/platform.js'
import { createAddon, destroyAddon } from './addons.js'
import { createApp, destroyApp } from './apps.js'
import { addonsToRemove, desiredDataServers, markAddonDeprovisioned } from './data-servers.js'

describe('platform add-ons', () => {
  let p: TestPlatform
  let space: Space
  let app: App
  const appIn = (s: Space) =>
    createApp(p.ctx, p.user, {
      name: `add-${newId().slice(0, 8)}`,
      space: s,
      team: p.store.teams.find(s.teamId),
    })
  beforeEach(() => {
    p = startTestPlatform()
    space = makeSpace(p)
    app = appIn(space)
    p.emitted.length = 0
  })
  afterEach(() => p.close())

  test('creating commits add-on, data address and release, then emits after the commit', () => {
    const { addon, attachment, release } = createAddon(p.ctx, app, p.user, {
      plan: 'heroku-postgresql:private-0',
    })
    assert.equal(attachment.name, 'DATABASE')
    assert.equal(release?.description, `Attach DATABASE (@ref:${addon.name})`)
    assert.deepEqual(
      p.emitted.map((e) => [e.event, e.inTransaction]),
      [
        ['network.changed', false],
        ['addons.changed', false],
        ['app.changed', false],
      ],
    )
  })

  test('a refused create leaves no add-on, address or release behind', () => {
    const before = p.store.releases.list(app.id).length
    createAddon(p.ctx, app, p.user, { plan: 'heroku-redis', name: 'taken-name' })
    const made = () => ({
      addons: p.store.addons.all().length,
      net: p.store.network.attachments(space.id).length,
      releases: p.store.releases.list(app.id).length,
    })
    const was = made()
    assert.equal(was.releases, before + 1)
    assertRefused(
      () => createAddon(p.ctx, app, p.user, { plan: 'heroku-redis', name: 'taken-name' }),
      /already taken/,
    )
    // The attachment name clashes inside the transaction, after the address was taken.
    assertRefused(
      () =>
        createAddon(p.ctx, app, p.user, {
          plan: 'heroku-redis',
          attachment: { name: 'REDIS' },
        }),
      /replace the attachment REDIS/,
    )
    assert.deepEqual(made(), was)
  })

  test('destroying a leader leaves its followers as standalone databases', () => {
    const other = makeSpace(p)
    const drApp = appIn(other)
    const { addon: leader } = createAddon(p.ctx, app, p.user, {
      plan: 'heroku-postgresql:private-0',
    })
    const { addon: follower } = createAddon(p.ctx, drApp, p.user, {
      plan: 'heroku-postgresql:private-0',
      config: { follow: leader.name },
      leader,
    })
    assert.equal(follower.leaderId, leader.id)
    assert.equal(follower.password, leader.password)
    p.emitted.length = 0
    destroyAddon(p.ctx, leader, p.user)
    assert.equal(p.store.addons.byId(follower.id)!.leaderId, null)
    const changed = p.emitted.filter((e) => e.event === 'addons.changed').map((e) => e.id)
    assert.deepEqual(changed.sort(), [space.id, other.id].sort())
    assert.ok(p.emitted.every((e) => !e.inTransaction))
    assert.deepEqual(
      desiredDataServers(p.store).map((d) => d.addonId),
      [follower.id],
    )
  })

  test('an app destroyed with its add-ons: their namespaces are still removed', () => {
    const { addon } = createAddon(p.ctx, app, p.user, { plan: 'heroku-redis' })
    destroyApp(p.ctx, app)
    assert.equal(p.store.addons.byId(addon.id), undefined)
    assert.deepEqual(addonsToRemove(p.store), [addon.id])
    assert.equal(markAddonDeprovisioned(p.ctx, addon.id), true)
    assert.deepEqual(addonsToRemove(p.store), [])
    const net = p.store.network.attachments(space.id)
    assert.deepEqual(
      net.map((n) => n.state),
      ['detaching'],
    )
  })
})
