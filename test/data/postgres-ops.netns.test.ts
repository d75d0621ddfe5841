/**
 * What the host does to a running Postgres add-on (issue 17 R5, R6): backups (`pg_dump -Fc`,
 * `pg_restore --clean --if-exists`) and a follower in another space (a base backup through a
 * replication slot, streaming, lag, promotion, the slot dropped).
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import { captureBackup, restoreBackup } from '../../src/data/backups.js'
import { dropSlot, lag, leaderFacts, promote, slotName, slots } from '../../src/data/followers.js'
import { DataServer } from '../../src/data/server.js'
import type { ConnectionFacts } from '../../src/data/types.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { makeSpace, psql, type SpaceFixture } from './space-fixture.js'

if (sandboxed(import.meta.url)) {
  describe('Postgres backups and followers', () => {
    let space: SpaceFixture
    let other: SpaceFixture
    let leader: DataServer
    let facts: ConnectionFacts
    const made: DataServer[] = []
    before(async () => {
      space = await makeSpace(0)
      other = await makeSpace(1)
      leader = new DataServer(space.spec('postgres', 12), { exec: run })
      made.push(leader)
      await leader.start()
      facts = await leader.facts()
      await psql(space.dynoNs, facts, "CREATE TABLE t (v text); INSERT INTO t VALUES ('one')")
    })
    after(async () => {
      for (const server of made) await server.destroy().catch(() => undefined)
      await space.cleanup()
      await other.cleanup()
    })

    test('capture, then restore, brings the captured rows back, owned by the app', async () => {
      const file = join(space.root, 'b001.dump')
      const size = await captureBackup(await leader.context(), file)
      assert.ok(size > 0)
      await psql(space.dynoNs, facts, "DELETE FROM t; INSERT INTO t VALUES ('after')")
      await restoreBackup(await leader.context(), file)
      assert.equal((await psql(space.dynoNs, facts, 'SELECT v FROM t')).trim(), 'one')
      assert.equal(
        (
          await psql(space.dynoNs, facts, "SELECT tableowner FROM pg_tables WHERE tablename = 't'")
        ).trim(),
        facts.user,
      )
      rmSync(file)
    })

    test('a follower in another space catches up, streams new writes, and is promoted', async () => {
      const leaderCtx = await leader.context()
      const spec = other.spec('postgres', 10, {
        password: leaderCtx.spec.password,
        follow: await leaderFacts(leaderCtx),
      })
      // The leader admits replication from the follower's address only once told.
      await leader.update({ ...leaderCtx.spec, followers: [spec.address] })
      const follower = new DataServer(spec, { exec: run })
      made.push(follower)
      await follower.start()
      const followerCtx = await follower.context()
      assert.deepEqual(await slots(leaderCtx), [slotName(spec.addonId)])

      // The follower serves the leader's data to its own space's dynos, read-only.
      const ff = await follower.facts()
      assert.equal(ff.user, facts.user)
      assert.equal(ff.host, spec.address)
      assert.equal((await psql(other.dynoNs, ff, 'SELECT v FROM t')).trim(), 'one')
      await assert.rejects(psql(other.dynoNs, ff, "INSERT INTO t VALUES ('no')"), /read-only/)

      await psql(space.dynoNs, facts, "INSERT INTO t VALUES ('two')")
      await waitUntil(
        'the new row on the follower',
        async () => (await psql(other.dynoNs, ff, 'SELECT count(*) FROM t')).trim() === '2',
      )
      await waitUntil('no lag', async () => (await lag(leaderCtx, followerCtx)).bytes === 0)

      await promote(followerCtx)
      await dropSlot(leaderCtx, spec.addonId)
      assert.deepEqual(await slots(leaderCtx), [])
      await psql(other.dynoNs, ff, "INSERT INTO t VALUES ('mine')")
      assert.equal((await psql(other.dynoNs, ff, 'SELECT count(*) FROM t')).trim(), '3')
      // The old leader did not get the promoted follower's write.
      assert.equal((await psql(space.dynoNs, facts, 'SELECT count(*) FROM t')).trim(), '2')
    })
  })
}
