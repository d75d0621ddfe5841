import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('regions', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi()
  })
  after(() => api.close())

  test('the list has the ten private space regions and the common runtime ones', async () => {
    const res = await api.call('GET', '/regions')
    assert.equal(res.status, 200)
    const privateNames = (res.body as any[])
      .filter((r) => r.private_capable)
      .map((r) => r.name as string)
      .sort()
    assert.deepEqual(privateNames, [
      'dublin',
      'frankfurt',
      'london',
      'montreal',
      'mumbai',
      'oregon',
      'singapore',
      'sydney',
      'tokyo',
      'virginia',
    ])
    const common = (res.body as any[])
      .filter((r) => !r.private_capable)
      .map((r) => r.name as string)
    assert.deepEqual(common.sort(), ['eu', 'us'])
  })

  test('a region is found by name', async () => {
    const res = await api.call('GET', '/regions/tokyo')
    assert.equal(res.status, 200)
    assert.equal(res.body.description, 'Tokyo, Japan')
    assert.equal(res.body.private_capable, true)
    assert.equal(res.body.provider.region, 'ap-northeast-1')
  })

  test('a region is found by id', async () => {
    const byName = await api.call('GET', '/regions/oregon')
    const res = await api.call('GET', `/regions/${byName.body.id}`)
    assert.equal(res.status, 200)
    assert.equal(res.body.name, 'oregon')
  })

  test('an unknown region is not found', async () => {
    const res = await api.call('GET', '/regions/atlantis')
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
    assert.equal(res.body.resource, 'region')
  })

  test('any account may list regions', async () => {
    const key = api.user('someone@example.com')
    const res = await api.call('GET', '/regions', undefined, { key })
    assert.equal(res.status, 200)
    assert.equal(res.body.length, 12)
  })
})
