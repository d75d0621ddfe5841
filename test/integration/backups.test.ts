/**
 * Postgres backups through the data API (`pg:backups*`, issue 17): capture, the agent's
 * reports, list and info, restore, cancel, delete and purge, download URLs, and refusals.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { BackupFiles } from '../../src/core/backups.js'
import {
  markBackupPurged,
  markTransferFinished,
  markTransferProgress,
  markTransferStarted,
  openTransfers,
} from '../../src/platform/backups.js'
import { desiredDataServers, markAddonAvailable } from '../../src/platform/data-servers.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('Postgres backups', () => {
  let api: TestApi
  let db: { id: string; name: string }
  const files: BackupFiles = {
    publicUrl: async (id) => ({
      url: `https://files.example/${id}`,
      expiresAt: '2030-01-01T00:00:00Z',
    }),
    openSigned: async () => 'missing',
  }
  const ctx = () => ({ store: api.store, events: api.events })
  const transfers = async () =>
    (await api.call('GET', '/client/v11/apps/bk-web/transfers')).body as Array<{
      uuid: string
      num: number
      from_name: string
      to_name: string
      from_type: string
      to_type: string
      to_url: string | null
      succeeded: boolean
      finished_at: string | null
    }>

  before(async () => {
    api = await startTestApi({ backupFiles: files })
    await api.call('POST', '/teams', { name: 'bkteam' })
    await api.call('POST', '/spaces', { name: 'bk-space', team: 'bkteam' })
    await api.call('POST', '/teams/apps', { name: 'bk-web', team: 'bkteam', space: 'bk-space' })
    db = (await api.call('POST', '/apps/bk-web/addons', { plan: 'heroku-postgresql:private-0' }))
      .body as { id: string; name: string }
  })
  after(() => api.close())

  test('a database still provisioning cannot be backed up', async () => {
    const res = await api.call('POST', `/client/v11/databases/${db.id}/backups`)
    assert.equal(res.status, 422)
    assert.match(res.body.message, /not available yet/)
    assert.deepEqual(await transfers(), [])
  })

  test('capture: b001 pending, run and finished by the agent, listed with its logs', async () => {
    const d = desiredDataServers(api.store).find((x) => x.addonId === db.id)!
    markAddonAvailable(ctx(), db.id, d)
    const heard: string[] = []
    api.events.on('transfers.changed', (id) => heard.push(id))
    const res = await api.call('POST', `/client/v11/databases/${db.id}/backups`)
    assert.equal(res.status, 201)
    assert.equal(res.body.num, 1)
    assert.equal(res.body.from_name, 'DATABASE')
    assert.equal(res.body.from_type, 'pg_dump')
    assert.equal(res.body.to_type, 'gof3r')
    assert.equal(res.body.finished_at, null)
    assert.deepEqual(heard, [db.id])
    const open = openTransfers(api.store)
    assert.deepEqual(
      open.map((t) => t.id),
      [res.body.uuid],
    )
    assert.equal(markTransferStarted(ctx(), res.body.uuid), true)
    assert.equal(markTransferProgress(ctx(), res.body.uuid, 4096), true)
    const running = await api.call('GET', `/client/v11/apps/bk-web/transfers/${res.body.uuid}`)
    assert.equal(running.body.processed_bytes, 4096)
    assert.notEqual(running.body.started_at, null)
    assert.equal(
      markTransferFinished(ctx(), res.body.uuid, {
        succeeded: true,
        processedBytes: 8192,
        message: 'pg_dump finished',
      }),
      true,
    )
    const info = await api.call('GET', '/client/v11/apps/bk-web/transfers/1?verbose=true')
    assert.equal(info.body.succeeded, true)
    assert.deepEqual(
      (info.body.logs as Array<{ message: string }>).map((l) => l.message),
      ['backup requested', 'started', 'pg_dump finished'],
    )
    assert.equal(
      (await api.call('GET', '/client/v11/apps/bk-web/transfers/1')).body.logs,
      undefined,
    )
    assert.deepEqual(openTransfers(api.store), [])
    const url = await api.call('POST', '/client/v11/apps/bk-web/transfers/1/actions/public-url')
    assert.equal(url.body.url, `https://files.example/${res.body.uuid}`)
  })

  test('restore b001: r002 from the backup, to the database', async () => {
    const [backup] = await transfers()
    const res = await api.call('POST', `/client/v11/databases/${db.id}/restores`, {
      backup_url: backup!.to_url,
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(res.body.num, 2)
    assert.equal(res.body.from_name, 'b001')
    assert.equal(res.body.to_name, 'DATABASE')
    assert.equal(res.body.to_type, 'pg_restore')
    const outside = await api.call('POST', `/client/v11/databases/${db.id}/restores`, {
      backup_url: 'https://example.com/dump',
    })
    assert.equal(outside.status, 422)
    assert.match(outside.body.message, /restore one of its backups by name/)
  })

  test('cancel a running transfer; the agent hears it is not to continue', async () => {
    const running = (await transfers()).find((t) => t.num === 2)!
    const res = await api.call(
      'POST',
      `/client/v11/apps/bk-web/transfers/${running.uuid}/actions/cancel`,
    )
    assert.equal(res.status, 200)
    assert.equal(res.body.succeeded, false)
    assert.notEqual(res.body.canceled_at, null)
    assert.equal(markTransferStarted(ctx(), running.uuid), false)
    const again = await api.call('POST', '/client/v11/apps/bk-web/transfers/2/actions/cancel')
    assert.equal(again.status, 422)
  })

  test('delete: hidden at once, purged by the agent; running ones are refused', async () => {
    const pending = await api.call('POST', `/client/v11/databases/${db.name}/backups`)
    const refused = await api.call(
      'DELETE',
      `/client/v11/apps/bk-web/transfers/${pending.body.num}`,
    )
    assert.equal(refused.status, 422)
    assert.match(refused.body.message, /still running/)
    const gone = await api.call('DELETE', '/client/v11/apps/bk-web/transfers/1')
    assert.equal(gone.status, 200)
    assert.deepEqual(
      (await transfers()).map((t) => t.num),
      [2, 3],
    )
    assert.equal((await api.call('GET', '/client/v11/apps/bk-web/transfers/1')).status, 404)
    const purge = openTransfers(api.store).find((t) => t.num === 1)!
    assert.notEqual(purge.deletedAt, null)
    assert.equal(markBackupPurged(ctx(), purge.id), true)
    assert.equal(api.store.transfers.byId(purge.id), undefined)
  })

  test('strangers see no backups and no schedules', async () => {
    const stranger = api.user('bk-stranger@example.com')
    const list = await api.call('GET', '/client/v11/apps/bk-web/transfers', undefined, {
      key: stranger,
    })
    assert.equal(list.status, 404)
    const capture = await api.call(`POST`, `/client/v11/databases/${db.id}/backups`, undefined, {
      key: stranger,
    })
    assert.equal(capture.status, 404)
    const schedules = await api.call(
      'GET',
      `/client/v11/databases/${db.id}/transfer-schedules`,
      undefined,
      { key: stranger },
    )
    assert.equal(schedules.status, 404)
  })
})
