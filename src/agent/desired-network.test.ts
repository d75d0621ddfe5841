import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { dataReplicationPaths } from './desired-network.js'

const addon = (id: string, spaceId: string, host: string, leaderId: string | null = null) => ({
  id,
  spaceId,
  host,
  port: 5432,
  leaderId,
  state: 'provisioned' as const,
})

describe('dataReplicationPaths', () => {
  test('a follower in another space: its server to its leader’s port, nothing else', () => {
    const leader = addon('l', 'space-a', '10.3.0.10')
    const remote = addon('f1', 'space-b', '10.5.0.10', 'l')
    const local = addon('f2', 'space-a', '10.3.0.11', 'l')
    const alone = addon('x', 'space-b', '10.5.0.11')
    assert.deepEqual(dataReplicationPaths([leader, remote, local, alone]), [
      { follower: '10.5.0.10', leader: '10.3.0.10', port: 5432 },
    ])
  })

  test('unfollowed, or either side being removed: no path', () => {
    const leader = addon('l', 'space-a', '10.3.0.10')
    assert.deepEqual(dataReplicationPaths([leader, addon('f', 'space-b', '10.5.0.10')]), [])
    const gone = { ...addon('f', 'space-b', '10.5.0.10', 'l'), state: 'deprovisioning' as const }
    assert.deepEqual(dataReplicationPaths([leader, gone]), [])
    const leaderGone = { ...leader, state: 'deprovisioning' as const }
    assert.deepEqual(
      dataReplicationPaths([leaderGone, addon('f', 'space-b', '10.5.0.10', 'l')]),
      [],
    )
  })
})
