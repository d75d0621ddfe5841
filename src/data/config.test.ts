/**
 * The pure parts of the data servers: who Postgres's hba admits, what the configurations say,
 * and which specs are refused before anything reaches a file or a command line.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { dataLayout } from './layout.js'
import {
  appNames,
  appRole,
  passfileLine,
  renderPgHba,
  renderPostgresConf,
} from './postgres-config.js'
import { renderRedisConf } from './redis.js'
import type { DataServerSpec } from './types.js'
import { checkSpec, DataSpecError } from './validate.js'

const spec: DataServerSpec = {
  addonId: '0b5e6c1a-1111-4222-8333-444455556666',
  kind: 'postgres',
  spaceId: '1a2b3c4d-1111-4222-8333-444455556666',
  address: '10.1.0.10',
  prefix: 16,
  gateway: '10.1.0.1',
  dataBridge: 'lsd-1a2b3c4d',
  dynoCidr: '10.0.0.0/16',
  memoryMb: 512,
  maxConnections: 120,
  password: 'p4ssw0rd-p4ssw0rd-x',
  dataDir: '/var/lib/localspace/data/0b5e6c1a',
}

describe('data server configuration', () => {
  test('hba: superuser from its own address only, dynos with TLS, followers for replication', () => {
    const lines = renderPgHba({ ...spec, followers: ['10.3.0.10'] }).split('\n')
    assert.deepEqual(lines.slice(1, 5), [
      'hostssl all postgres 10.1.0.10/32 scram-sha-256',
      'hostssl replication postgres 10.3.0.10/32 scram-sha-256',
      'hostssl all postgres 0.0.0.0/0 reject',
      'hostssl all all 10.0.0.0/16 scram-sha-256',
    ])
    assert.ok(lines.every((l) => l === '' || l.startsWith('#') || l.startsWith('hostssl ')))
  })

  test('postgresql.conf: the plan, TLS, its address, no Unix socket', () => {
    const conf = renderPostgresConf(spec, dataLayout(spec.dataDir))
    for (const line of [
      "listen_addresses = '10.1.0.10'",
      'max_connections = 120',
      'shared_buffers = 128MB',
      'ssl = on',
      "unix_socket_directories = ''",
      'password_encryption = scram-sha-256',
      'fsync = on',
    ])
      assert.ok(conf.split('\n').includes(line), line)
  })

  test('redis.conf: TLS only, the password, the AOF, three quarters of the memory', () => {
    const conf = renderRedisConf({ ...spec, kind: 'redis' }, dataLayout(spec.dataDir)).split('\n')
    for (const line of [
      'port 0',
      'tls-port 6379',
      'requirepass "p4ssw0rd-p4ssw0rd-x"',
      'appendonly yes',
      'appendfsync everysec',
      'maxmemory 384mb',
      'bind 10.1.0.10',
    ])
      assert.ok(conf.includes(line), line)
  })

  test('names and password files', () => {
    const { user, database } = appNames(spec.addonId)
    assert.match(user, /^u[0-9a-f]{14}$/)
    assert.match(database, /^d[0-9a-f]{13}$/)
    assert.deepEqual(appNames(spec.addonId), { user, database })
    assert.equal(passfileLine('postgres', 'a:b\\c'), '*:*:*:postgres:a\\:b\\\\c\n')
  })

  test('the role and database are the platform’s when the spec names them', () => {
    const named = { ...spec, user: 'u0123456789abcd', database: 'd0123456789abc' }
    assert.deepEqual(appRole(named), { user: 'u0123456789abcd', database: 'd0123456789abc' })
    // A follower's, named by nobody: its leader's.
    const leaderId = '11111111-2222-4333-8444-555555555555'
    const follow = {
      addonId: leaderId,
      address: '10.3.0.11',
      port: 5432,
      adminUser: 'postgres',
      adminPassword: 'x',
      certificate: '',
    }
    assert.deepEqual(appRole({ ...spec, follow }), appNames(leaderId))
    checkSpec(named)
    checkSpec({ ...spec, attachmentId: leaderId })
  })

  test('a bad spec is refused with a clear error', () => {
    checkSpec(spec)
    for (const bad of [
      { addonId: 'x; rm -rf /' },
      { address: '10.1.0.300' },
      { password: "short'" },
      { password: 'has a quote " in it, long enough' },
      { memoryMb: 8 },
      { dataDir: 'relative/dir' },
      { dynoCidr: 'everyone' },
      { followers: ['10.3.0.10 trust'] },
      { user: 'u"; DROP ROLE postgres; --' },
      { database: 'D-1' },
      { attachmentId: '../../etc' },
    ])
      assert.throws(() => checkSpec({ ...spec, ...bad }), Error, JSON.stringify(bad))
    assert.throws(() => checkSpec({ ...spec, memoryMb: 8 }), DataSpecError)
  })
})
