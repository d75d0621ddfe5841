/**
 * The backup runner (src/daemon/data-transfers.ts) against a real Postgres add-on server
 * (issue 17 R6, R8): `pg:backups:capture` puts a `pg_dump -Fc` file in the blob store (0600,
 * in a 0700 directory) that `pg_restore -l` reads; a restore after a change brings the rows
 * back; a delete purges the file; a capture that fails, or a daemon killed mid-capture,
 * leaves no partial file and a cleanly failed transfer.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { TransferRunner } from '../../src/daemon/data-transfers.js'
import { BackupStore } from '../../src/data/backup-store.js'
import { PG_BIN } from '../../src/data/postgres.js'
import { DataServer } from '../../src/data/server.js'
import type { ConnectionFacts } from '../../src/data/types.js'
import { run } from '../../src/exec/run.js'
import { markTransferStarted } from '../../src/platform/backups.js'
import { desiredDataServers, markAddonAvailable } from '../../src/platform/data-servers.js'
import { startTestApi, type TestApi } from '../helpers/api.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { makeSpace, processesMentioning, psql, type SpaceFixture } from './space-fixture.js'

if (sandboxed(import.meta.url)) {
  describe('the backup runner on a real Postgres', () => {
    let space: SpaceFixture
    let api: TestApi
    let files: BackupStore
    let server: DataServer
    let facts: ConnectionFacts
    let runner: TransferRunner
    let db: { id: string; name: string }
    const backupsDir = () => join(space.root, 'backups')
    const ctx = () => ({ store: api.store, events: api.events })
    const startRunner = async () => {
      runner = new TransferRunner({
        ctx: ctx(),
        files,
        serverFor: (id) => (id === db.id ? server : undefined),
        tickMs: 3600_000,
      })
      await runner.start()
      await runner.idle()
    }
    const transfer = async (num: number) =>
      (await api.call('GET', `/client/v11/apps/br-web/transfers/${num}?verbose=true`)).body as {
        uuid: string
        succeeded: boolean
        finished_at: string | null
        processed_bytes: number
        logs: Array<{ message: string }>
      }
    const rows = async () => (await psql(space.dynoNs, facts, 'SELECT v FROM t ORDER BY v')).trim()

    before(async () => {
      space = await makeSpace(0)
      api = await startTestApi()
      await api.call('POST', '/teams', { name: 'brteam' })
      await api.call('POST', '/spaces', { name: 'br-space', team: 'brteam' })
      await api.call('POST', '/teams/apps', { name: 'br-web', team: 'brteam', space: 'br-space' })
      db = (await api.call('POST', '/apps/br-web/addons', { plan: 'heroku-postgresql:private-0' }))
        .body as { id: string; name: string }
      const desired = desiredDataServers(api.store).find((d) => d.addonId === db.id)!
      markAddonAvailable(ctx(), db.id, desired)
      server = new DataServer(
        space.spec('postgres', 12, { addonId: db.id, dataDir: join(space.root, db.id) }),
        { exec: run },
      )
      await server.start()
      facts = await server.facts()
      await psql(space.dynoNs, facts, "CREATE TABLE t (v text); INSERT INTO t VALUES ('one')")
      files = await BackupStore.open({ dir: backupsDir(), apiUrl: 'http://127.0.0.1:5000' })
      await startRunner()
    })
    after(async () => {
      await runner?.stop()
      await server?.destroy().catch(() => undefined)
      await api?.close()
      await space?.cleanup()
    })

    test('capture: the dump is in the blob store, root-only, and pg_restore -l lists the table', async () => {
      const res = await api.call('POST', `/client/v11/databases/${db.id}/backups`)
      assert.equal(res.status, 201)
      await runner.idle()
      const b = await transfer(1)
      assert.equal(b.succeeded, true, JSON.stringify(b.logs))
      const file = files.fileOf(b.uuid)
      assert.equal(statSync(file).size, b.processed_bytes)
      assert.equal(statSync(file).mode & 0o777, 0o600)
      assert.equal(statSync(backupsDir()).mode & 0o777, 0o700)
      const { stdout } = await run(join(PG_BIN, 'pg_restore'), ['-l', file])
      assert.match(stdout, /TABLE public t /)
      assert.deepEqual(
        readdirSync(backupsDir()).filter((n) => n.endsWith('.partial')),
        [],
      )
    })

    test('restore after a change brings the captured rows back', async () => {
      await psql(space.dynoNs, facts, "DELETE FROM t; INSERT INTO t VALUES ('changed')")
      assert.equal(await rows(), 'changed')
      const backup = await transfer(1)
      const res = await api.call('POST', `/client/v11/databases/${db.id}/restores`, {
        backup_url: `localspace-backup:${backup.uuid}`,
      })
      assert.equal(res.status, 201)
      await runner.idle()
      const r = await transfer(2)
      assert.equal(r.succeeded, true, JSON.stringify(r.logs))
      assert.equal(await rows(), 'one')
    })

    test('delete purges the file and the record', async () => {
      const backup = await transfer(1)
      const res = await api.call('DELETE', '/client/v11/apps/br-web/transfers/1')
      assert.equal(res.status, 200)
      await runner.idle()
      assert.equal(existsSync(files.fileOf(backup.uuid)), false)
      assert.equal(api.store.transfers.byId(backup.uuid), undefined)
    })

    test('a capture that waits for its server, then breaks (pg_dump killed), ends failed and leaves no file', async () => {
      await server.stop()
      const res = await api.call('POST', `/client/v11/databases/${db.id}/backups`)
      const id = res.body.uuid as string
      // The runner waits for an available server; a server that dies mid-dump fails it.
      await runner.idle()
      assert.equal(api.store.transfers.byId(id)!.startedAt, null, 'waits for its server')
      await server.start()
      await runner.stop()
      // Kill pg_dump under the capture (by its pid): the dump breaks half written.
      await psql(
        space.dynoNs,
        facts,
        'CREATE TABLE big AS SELECT g, md5(g::text) m FROM generate_series(1, 400000) g',
      )
      runner = new TransferRunner({
        ctx: ctx(),
        files,
        serverFor: (x) => (x === db.id ? server : undefined),
        tickMs: 3600_000,
      })
      const killed = waitUntil('pg_dump killed', async () => {
        const lines = await processesMentioning(`${id}.dump.partial`)
        for (const line of lines) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL')
        return lines.length > 0
      })
      await runner.start()
      await killed
      await runner.idle()
      const t = api.store.transfers.byId(id)!
      assert.notEqual(t.finishedAt, null)
      assert.equal(t.succeeded, false)
      assert.match(t.logs.at(-1)!.message, /^failed: /)
      assert.deepEqual(
        readdirSync(backupsDir()).filter((n) => n.startsWith(id)),
        [],
      )
    })

    test('a daemon killed mid-capture: the next start fails the transfer and removes the partial file', async () => {
      await runner.stop()
      const res = await api.call('POST', `/client/v11/databases/${db.id}/backups`)
      const id = res.body.uuid as string
      // What a killed daemon leaves: the transfer started, pg_dump's output half written.
      assert.equal(markTransferStarted(ctx(), id), true)
      writeFileSync(`${files.fileOf(id)}.partial`, 'PGDMP-half', { mode: 0o600 })
      await startRunner()
      const t = api.store.transfers.byId(id)!
      assert.equal(t.succeeded, false)
      assert.notEqual(t.finishedAt, null)
      assert.match(t.logs.at(-1)!.message, /interrupted/)
      assert.deepEqual(
        readdirSync(backupsDir()).filter((n) => n.startsWith(id)),
        [],
      )
      // And it is not re-run: nothing is open.
      assert.equal(api.store.transfers.open().filter((x) => x.id === id).length, 0)
    })
  })
}
