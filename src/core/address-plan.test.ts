import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { firstFreeAddress, spaceAddresses } from './address-plan.js'

describe('address plan', () => {
  const plan = spaceAddresses('10.4.0.0/16', '172.20.16.0/20')

  test('the gateway, internal router and data gateway sit where docs/design.md puts them', () => {
    assert.equal(plan.gateway, '10.4.0.1')
    assert.equal(plan.internalRouter, '10.4.0.3')
    assert.equal(plan.dataGateway, '172.20.16.1')
  })

  test('dynos are numbered from 10.x.128.1 and skip addresses in use', () => {
    assert.equal(firstFreeAddress(plan, 'dyno', new Set()), '10.4.128.1')
    assert.equal(
      firstFreeAddress(plan, 'dyno', new Set(['10.4.128.1', '10.4.128.2'])),
      '10.4.128.3',
    )
  })

  test('a full first /20 continues in the next one', () => {
    const used = new Set<string>()
    for (let i = 1; i < 4096; i++) used.add(`10.4.${128 + (i >> 8)}.${i & 255}`)
    assert.equal(firstFreeAddress(plan, 'dyno', used), '10.4.144.1')
  })

  test('data services are numbered from D.0.10 and never take the broadcast address', () => {
    assert.equal(firstFreeAddress(plan, 'data', new Set()), '172.20.16.10')
    const used = new Set<string>()
    for (let a = 10; a < 4095; a++) used.add(`172.20.${16 + (a >> 8)}.${a & 255}`)
    assert.equal(firstFreeAddress(plan, 'data', used), undefined)
  })
})
