import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('spaces', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi()
    assert.equal((await api.call('POST', '/teams', { name: 'acme' })).status, 201)
  })
  after(() => api.close())

  test('a new space gets the default cidr pair and becomes allocated', async () => {
    const created = await api.call('POST', '/spaces', {
      name: 'alpha',
      team: 'acme',
      region: 'tokyo',
      features: [],
      generation: 'cedar',
    })
    assert.equal(created.status, 201)
    assert.equal(created.body.state, 'allocating')
    assert.equal(created.body.cidr, '10.0.0.0/16')
    assert.equal(created.body.data_cidr, '10.1.0.0/16')
    const info = await api.call('GET', '/spaces/alpha', undefined, {
      headers: { 'accept-expansion': 'region' },
    })
    assert.equal(info.body.state, 'allocated')
    assert.equal(info.body.region.description, 'Tokyo, Japan')
  })

  test('the second space gets the next free pair', async () => {
    const created = await api.call('POST', '/spaces', { name: 'beta', team: 'acme' })
    assert.equal(created.body.cidr, '10.2.0.0/16')
    assert.equal(created.body.data_cidr, '10.3.0.0/16')
  })

  test('a space with apps cannot be destroyed', async () => {
    assert.equal(
      (await api.call('POST', '/teams/apps', { name: 'web-app', space: 'beta' })).status,
      201,
    )
    const del = await api.call('DELETE', '/spaces/beta')
    assert.equal(del.status, 422)
    assert.equal(del.body.id, 'invalid_params')
    assert.equal((await api.call('GET', '/spaces/beta')).status, 200)
  })

  test('destroying an empty space removes it', async () => {
    const del = await api.call('DELETE', '/spaces/alpha')
    assert.equal(del.status, 200)
    assert.equal(del.body.state, 'deleting')
    assert.equal((await api.call('GET', '/spaces/alpha')).status, 404)
  })
})
