/**
 * A real PostgreSQL 15 server per add-on (issue 17 R3): in its own namespace on the space's
 * data bridge, as the data user, TLS and SCRAM only, reachable from the space's dyno network
 * and nobody else; a crash (kill -9) loses no committed row and is followed by a restart; a
 * new daemon adopts the running server; destroy leaves nothing.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import { cgroupOf } from '../../src/data/server-process.js'
import { DataServer } from '../../src/data/server.js'
import type { DataServerStatus } from '../../src/data/types.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { processesMentioning, psql, suiteSpace } from './space-fixture.js'

if (sandboxed(import.meta.url)) {
  describe('a Postgres server per add-on', () => {
    const suite = suiteSpace()

    test('TLS + SCRAM from the dyno network only; kill -9 loses no commit; adopted; destroyed clean', async () => {
      const spec = suite.space.spec('postgres', 10, { memoryMb: 192, maxConnections: 17 })
      const statuses: DataServerStatus[] = []
      const server = new DataServer(spec, { exec: run, onStatus: (s) => statuses.push(s) })
      suite.made.push(server)
      const started = Date.now()
      await server.start()
      const facts = await server.facts()
      assert.equal(server.state, 'available')
      assert.deepEqual(
        statuses.map((s) => s.state),
        ['starting', 'available'],
      )
      assert.equal(facts.host, spec.address)
      assert.match(
        facts.url,
        /^postgres:\/\/u[0-9a-f]{14}:.+@10\.41\.0\.10:5432\/d[0-9a-f]{13}\?sslmode=require$/,
      )
      console.log(`provisioned in ${Date.now() - started} ms`)

      // From a dyno: TLS, SCRAM, the plan's limits, and it runs as the data user in its cgroup.
      const row = await psql(
        suite.space.dynoNs,
        facts,
        "SELECT ssl, current_setting('max_connections'), current_setting('shared_buffers'), current_setting('password_encryption') FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
      )
      assert.equal(row.trim(), 't|17|48MB|scram-sha-256')
      await psql(
        suite.space.dynoNs,
        facts,
        "CREATE TABLE t (v text); INSERT INTO t VALUES ('committed')",
      )

      // Without TLS, or from an address outside the dyno network: refused by the hba.
      await assert.rejects(
        psql(suite.space.dynoNs, facts, 'SELECT 1', 'disable'),
        /no pg_hba\.conf entry.*no encryption/,
      )
      await assert.rejects(
        psql(suite.space.intruderNs, facts, 'SELECT 1'),
        /no pg_hba\.conf entry for host "10\.41\.0\.200"/,
      )
      // The platform's superuser is not for dynos, even with its password.
      const admin = readFileSync(`${spec.dataDir}/secrets/admin-password`, 'utf8').trim()
      await assert.rejects(
        psql(suite.space.dynoNs, { ...facts, user: 'postgres', password: admin }, 'SELECT 1'),
        /pg_hba\.conf rejects connection/,
      )

      const pid = await server.pid()
      assert.ok(pid)
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
      const { stdout: dataUid } = await run('id', ['-u', 'localspace-data'])
      assert.equal(uid, dataUid.trim())
      const cgroup = cgroupOf(`data-${spec.addonId}`)
      assert.equal(
        readFileSync(`${cgroup}/memory.limit_in_bytes`, 'utf8').trim(),
        String(192 * 1024 * 1024),
      )
      assert.ok(readFileSync(`${cgroup}/cgroup.procs`, 'utf8').split('\n').includes(String(pid)))
      assert.equal(statSync(`${spec.dataDir}/pgdata`).mode & 0o777, 0o700)

      // kill -9: restarted, and the committed row is there.
      process.kill(pid, 'SIGKILL')
      await waitUntil(
        'a restart after the crash',
        () =>
          statuses.some((s) => s.state === 'starting' && /SIGKILL/.test(s.message)) &&
          server.state === 'available',
      )
      assert.notEqual(await server.pid(), pid)
      assert.equal((await psql(suite.space.dynoNs, facts, 'SELECT v FROM t')).trim(), 'committed')

      // A new daemon: the old one lets go, the new one adopts the running process.
      const running = await server.pid()
      await server.release()
      const adopted = new DataServer(spec, { exec: run })
      suite.made.push(adopted)
      await adopted.start()
      assert.equal(await adopted.pid(), running)

      await adopted.destroy()
      assert.equal(existsSync(spec.dataDir), false)
      assert.equal(existsSync(cgroup), false)
      assert.deepEqual(await processesMentioning(spec.addonId), [])
      const { stdout: namespaces } = await run('ip', ['netns', 'list'])
      assert.doesNotMatch(namespaces, new RegExp(`ls-${spec.addonId.slice(0, 8)}`))
    })
  })
}
