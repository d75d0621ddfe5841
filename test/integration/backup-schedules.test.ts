/**
 * Daily backups (`pg:backups:schedule`, `…:schedules`, `…:unschedule`), the clock that records
 * them, retention, the final backup of a destroyed database, and the signed download links of
 * `pg:backups:url` served by the API listener (issue 17 R6).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { BackupStore } from '../../src/data/backup-store.js'
import { captureDueBackups } from '../../src/platform/backup-schedules.js'
import {
  markTransferFinished,
  markTransferStarted,
  openTransfers,
} from '../../src/platform/backups.js'
import {
  addonsToRemove,
  desiredDataServers,
  markAddonAvailable,
} from '../../src/platform/data-servers.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('backup schedules and download links', () => {
  let api: TestApi
  let files: BackupStore
  let dir: string
  let clock = Date.UTC(2026, 5, 1, 12, 0, 0)
  let db: { id: string; name: string }
  const ctx = () => ({ store: api.store, events: api.events })
  const schedules = async () =>
    (await api.call('GET', `/client/v11/databases/${db.id}/transfer-schedules`)).body as Array<{
      uuid: string
      name: string
      hour: number
      timezone: string
    }>
  /** A backup as the runner would make it: recorded, run, its file in the store. */
  const finishedBackup = async (content: string) => {
    const res = await api.call('POST', `/client/v11/databases/${db.id}/backups`)
    const id = res.body.uuid as string
    markTransferStarted(ctx(), id)
    writeFileSync(files.fileOf(id), content, { mode: 0o600 })
    markTransferFinished(ctx(), id, { succeeded: true, processedBytes: 5, message: 'done' })
    return res.body as { uuid: string; num: number }
  }
  const download = (url: string) => {
    const u = new URL(url)
    return api.server.inject({ method: 'GET', url: `${u.pathname}${u.search}` })
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'localspace-backups-'))
    files = await BackupStore.open({
      dir: join(dir, 'backups'),
      apiUrl: 'http://127.0.0.1:5000/',
      now: () => clock,
    })
    api = await startTestApi({ backupFiles: files })
    await api.call('POST', '/teams', { name: 'bsteam' })
    await api.call('POST', '/spaces', { name: 'bs-space', team: 'bsteam' })
    await api.call('POST', '/teams/apps', { name: 'bs-web', team: 'bsteam', space: 'bs-space' })
    db = (await api.call('POST', '/apps/bs-web/addons', { plan: 'heroku-postgresql:private-0' }))
      .body as { id: string; name: string }
    const d = desiredDataServers(api.store).find((x) => x.addonId === db.id)!
    markAddonAvailable(ctx(), db.id, d)
  })
  after(async () => {
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('schedule, list and unschedule, as the CLI sends them', async () => {
    assert.deepEqual(await schedules(), [])
    const made = await api.call('POST', `/client/v11/databases/${db.id}/transfer-schedules`, {
      hour: '02',
      timezone: 'America/New_York',
      schedule_name: 'DATABASE_URL',
    })
    assert.equal(made.status, 201, JSON.stringify(made.body))
    const [s] = await schedules()
    assert.equal(s!.name, 'DATABASE_URL')
    assert.equal(s!.hour, 2)
    assert.equal(s!.timezone, 'America/New_York')
    // A second schedule replaces the first: one per database.
    await api.call('POST', `/client/v11/databases/${db.id}/transfer-schedules`, {
      hour: '3',
      timezone: 'UTC',
      schedule_name: 'DATABASE_URL',
    })
    const list = await schedules()
    assert.equal(list.length, 1)
    assert.equal(list[0]!.hour, 3)
    const gone = await api.call(
      'DELETE',
      `/client/v11/databases/${db.id}/transfer-schedules/${list[0]!.uuid}`,
    )
    assert.equal(gone.status, 200)
    assert.deepEqual(await schedules(), [])
    const again = await api.call(
      'DELETE',
      `/client/v11/databases/${db.id}/transfer-schedules/${list[0]!.uuid}`,
    )
    assert.equal(again.status, 404)
  })

  test('bad schedules are refused and change nothing', async () => {
    for (const body of [
      { hour: '24', timezone: 'UTC', schedule_name: 'DATABASE_URL' },
      { hour: 'x', timezone: 'UTC', schedule_name: 'DATABASE_URL' },
      { hour: '02', timezone: 'Mars/Olympus', schedule_name: 'DATABASE_URL' },
      { hour: '02', timezone: 'UTC', schedule_name: '../x' },
    ]) {
      const res = await api.call('POST', `/client/v11/databases/${db.id}/transfer-schedules`, body)
      assert.equal(res.status, 422, JSON.stringify(body))
    }
    assert.deepEqual(await schedules(), [])
    const other = await api.call(
      'GET',
      `/client/v11/databases/${db.id}/transfer-schedules`,
      undefined,
      { key: api.user('stranger@example.com') },
    )
    assert.equal(other.status, 404)
  })

  test('the clock records one a00N backup a day, at the hour in the schedule’s timezone', async () => {
    await api.call('POST', `/client/v11/databases/${db.id}/transfer-schedules`, {
      hour: '02',
      timezone: 'America/New_York',
      schedule_name: 'DATABASE_URL',
    })
    // 05:30 UTC on 1 June is 01:30 in New York (EDT): not yet.
    assert.equal(captureDueBackups(ctx(), new Date(Date.UTC(2026, 5, 1, 5, 30))), 0)
    // 06:10 UTC is 02:10 in New York: due, once.
    assert.equal(captureDueBackups(ctx(), new Date(Date.UTC(2026, 5, 1, 6, 10))), 1)
    assert.equal(captureDueBackups(ctx(), new Date(Date.UTC(2026, 5, 1, 6, 40))), 0)
    const [t] = openTransfers(api.store)
    assert.equal(t!.scheduleName, 'DATABASE_URL')
    const listed = (await api.call('GET', '/client/v11/apps/bs-web/transfers')).body as Array<{
      num: number
      schedule: { name: string } | null
    }>
    assert.deepEqual(listed.at(-1)!.schedule, { name: 'DATABASE_URL' })
    // The next day, again.
    assert.equal(captureDueBackups(ctx(), new Date(Date.UTC(2026, 5, 2, 6, 5))), 1)
    for (const open of openTransfers(api.store)) {
      markTransferStarted(ctx(), open.id)
      markTransferFinished(ctx(), open.id, { succeeded: true, processedBytes: 1, message: 'ok' })
    }
  })

  test('pg:backups:url: a signed link that downloads the file until it expires', async () => {
    const b = await finishedBackup('PGDMP')
    const res = await api.call(
      'POST',
      `/client/v11/apps/bs-web/transfers/${b.num}/actions/public-url`,
    )
    assert.equal(res.status, 200)
    const url = res.body.url as string
    assert.match(url, /^http:\/\/127\.0\.0\.1:5000\/backup-files\//)
    assert.equal(Date.parse(res.body.expires_at), clock + 3600_000)
    const ok = await download(url)
    assert.equal(ok.statusCode, 200)
    assert.equal(ok.body, 'PGDMP')
    assert.equal(ok.headers['content-type'], 'application/octet-stream')

    // Tampered: another signature, another expiry, another backup's id, a missing signature.
    const u = new URL(url)
    const sig = u.searchParams.get('signature')!
    const flipped = `${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`
    const later = String(Number(u.searchParams.get('expires')) + 3600)
    const other = await finishedBackup('OTHER')
    for (const bad of [
      url.replace(sig, flipped),
      url.replace(/expires=\d+/, `expires=${later}`),
      url.replace(b.uuid, other.uuid),
      url.replace(/&signature=.*$/, ''),
      url.replace(sig, 'zz'),
    ]) {
      const res = await download(bad)
      assert.equal(res.statusCode, 403, bad)
      const body = JSON.parse(res.body) as { id: string; message: string }
      assert.equal(body.id, 'forbidden')
      assert.match(body.message, /not valid or has expired/)
    }
    assert.equal((await download(url.replace(b.uuid, 'not-a-uuid'))).statusCode, 404)

    // Expired: an hour and a second later.
    clock += 3601_000
    assert.equal((await download(url)).statusCode, 403)
  })

  test('a deleted backup: its link finds nothing once the file is purged', async () => {
    const b = await finishedBackup('GONE')
    const { url } = (
      await api.call('POST', `/client/v11/apps/bs-web/transfers/${b.num}/actions/public-url`)
    ).body as { url: string }
    await files.remove(b.uuid)
    const res = await download(url)
    assert.equal(res.statusCode, 404)
    assert.equal(JSON.parse(res.body).id, 'not_found')
  })

  test('destroying a database records a final backup; its server stays until that is done', async () => {
    const res = await api.call('DELETE', `/apps/bs-web/addons/${db.id}`)
    assert.equal(res.status, 200, JSON.stringify(res.body))
    const final = openTransfers(api.store).find((t) => t.addonId === db.id && t.finishedAt === null)
    assert.ok(final, 'a final backup is pending')
    assert.ok(desiredDataServers(api.store).some((d) => d.addonId === db.id))
    assert.ok(!addonsToRemove(api.store).includes(db.id))
    markTransferStarted(ctx(), final.id)
    const heard: string[] = []
    api.events.on('addons.changed', (spaceId) => heard.push(spaceId))
    markTransferFinished(ctx(), final.id, { succeeded: true, processedBytes: 1, message: 'ok' })
    assert.equal(heard.length, 1, 'the data agent hears the server may go')
    assert.ok(!desiredDataServers(api.store).some((d) => d.addonId === db.id))
    assert.ok(addonsToRemove(api.store).includes(db.id))
    // The final backup stays on the app's list after the database is gone.
    const listed = (await api.call('GET', '/client/v11/apps/bs-web/transfers')).body as Array<{
      uuid: string
    }>
    assert.ok(listed.some((t) => t.uuid === final.id))
  })
})
