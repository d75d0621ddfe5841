/**
 * A real Redis server per add-on (issue 17 R3): TLS only, requirepass, the AOF on; in its
 * own namespace on the data bridge; a kill -9 loses no acknowledged write and is followed by
 * a restart; destroy leaves nothing.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import { cgroupOf } from '../../src/data/server-process.js'
import { DataServer } from '../../src/data/server.js'
import type { ConnectionFacts, DataServerStatus } from '../../src/data/types.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { inNs, processesMentioning, suiteSpace } from './space-fixture.js'

/** redis-cli from a namespace; the password in the environment, `--tls` unless told not to. */
const redis = (
  netns: string,
  facts: ConnectionFacts,
  args: string[],
  tls = true,
  password = facts.password,
) =>
  inNs(
    netns,
    'redis-cli',
    [...(tls ? ['--tls', '--insecure'] : []), '-h', facts.host, '-p', String(facts.port), ...args],
    { REDISCLI_AUTH: password },
  )

if (sandboxed(import.meta.url)) {
  describe('a Redis server per add-on', () => {
    const suite = suiteSpace()

    test('TLS and a password only; the AOF keeps writes across kill -9; destroyed clean', async () => {
      const spec = suite.space.spec('redis', 11, { memoryMb: 128, maxConnections: 30 })
      const statuses: DataServerStatus[] = []
      const server = new DataServer(spec, { exec: run, onStatus: (s) => statuses.push(s) })
      suite.made.push(server)
      await server.start()
      const facts = await server.facts()
      assert.equal(facts.url, `rediss://:${encodeURIComponent(spec.password)}@10.41.0.11:6379`)

      assert.equal((await redis(suite.space.dynoNs, facts, ['SET', 'k', 'kept'])).trim(), 'OK')
      const config = await redis(suite.space.dynoNs, facts, ['CONFIG', 'GET', '*'])
      const setting = (name: string) => {
        const lines = config.split('\n')
        return lines[lines.indexOf(name) + 1]
      }
      assert.equal(setting('appendonly'), 'yes')
      assert.equal(setting('appendfsync'), 'everysec')
      assert.equal(setting('maxmemory'), String(96 * 1024 * 1024))
      assert.equal(setting('maxclients'), '30')
      assert.equal(setting('port'), '0')

      // A wrong password, or no TLS: nothing.
      assert.match(
        await redis(suite.space.dynoNs, facts, ['GET', 'k'], true, 'wrong-password-123'),
        /^NOAUTH/,
      )
      await assert.rejects(redis(suite.space.dynoNs, facts, ['GET', 'k'], false))

      const pid = await server.pid()
      assert.ok(pid)
      const cgroup = cgroupOf(`data-${spec.addonId}`)
      assert.equal(
        readFileSync(`${cgroup}/memory.limit_in_bytes`, 'utf8').trim(),
        String(128 * 1024 * 1024),
      )
      process.kill(pid, 'SIGKILL')
      await waitUntil(
        'a restart after the crash',
        () => statuses.some((s) => /SIGKILL/.test(s.message)) && server.state === 'available',
      )
      assert.equal((await redis(suite.space.dynoNs, facts, ['GET', 'k'])).trim(), 'kept')

      await server.destroy()
      assert.equal(existsSync(spec.dataDir), false)
      assert.equal(existsSync(cgroup), false)
      assert.deepEqual(await processesMentioning(spec.addonId), [])
    })
  })
}
